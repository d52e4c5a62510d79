// SMTP reply parsing and enhanced status code extraction (RFC 5321, RFC 3463).
#include "core/received_reply.hpp"

#include <algorithm>
#include <cctype>

namespace bouncegate {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads 1..3 digits at s[i]; returns count read or 0.
size_t read_num(std::string_view s, size_t i, int& out) {
  size_t n = 0;
  out = 0;
  while (i + n < s.size() && is_digit(s[i + n]) && n < 4) {
    out = out * 10 + (s[i + n] - '0');
    ++n;
  }
  return (n >= 1 && n <= 3) ? n : 0;
}

// Matches an enhanced code starting exactly at s[i]; sets len.
std::optional<EnhancedCode> code_at(std::string_view s, size_t i, size_t& len) {
  if (i >= s.size() || (s[i] != '2' && s[i] != '4' && s[i] != '5')) return std::nullopt;
  if (i + 1 >= s.size() || s[i + 1] != '.') return std::nullopt;
  EnhancedCode c;
  c.cls = s[i] - '0';
  size_t p = i + 2;
  size_t n = read_num(s, p, c.subject);
  if (!n) return std::nullopt;
  p += n;
  if (p >= s.size() || s[p] != '.') return std::nullopt;
  ++p;
  n = read_num(s, p, c.detail);
  if (!n) return std::nullopt;
  p += n;
  // Must not continue as a longer number or dotted quad (an IP address).
  if (p < s.size() && (is_digit(s[p]) || (s[p] == '.' && p + 1 < s.size() && is_digit(s[p + 1]))))
    return std::nullopt;
  if (i > 0 && (is_digit(s[i - 1]) || s[i - 1] == '.')) return std::nullopt;
  len = p - i;
  return c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string EnhancedCode::str() const {
  return std::to_string(cls) + "." + std::to_string(subject) + "." + std::to_string(detail);
}

std::optional<EnhancedCode> parse_enhanced_code(std::string_view s) {
  s = trim(s);
  size_t len = 0;
  auto c = code_at(s, 0, len);
  if (!c || len != s.size()) return std::nullopt;
  return c;
}

std::optional<EnhancedCode> find_enhanced_code(std::string_view text) {
  text = trim(text);
  size_t len = 0;
  if (auto c = code_at(text, 0, len)) {
    if (len == text.size() || text[len] == ' ' || text[len] == '\t' || text[len] == ':' ||
        text[len] == ',' || text[len] == ';')
      return c;
  }
  // "#5.1.1", "(#5.7.1)", "[5.1.1]", "(5.1.1)" or a code standing alone between spaces.
  for (size_t i = 1; i < text.size(); ++i) {
    char prev = text[i - 1];
    if (prev != '#' && prev != '(' && prev != '[' && prev != ' ' && prev != '<') continue;
    if (auto c = code_at(text, i, len)) {
      size_t end = i + len;
      if (end == text.size() || text[end] == ' ' || text[end] == ')' || text[end] == ']' ||
          text[end] == ',' || text[end] == ';' || text[end] == ':' || text[end] == '>' ||
          text[end] == '\r' || text[end] == '\n')
        return c;
    }
  }
  return std::nullopt;
}

std::string Reply::text() const {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += ' ';
    out += l;
  }
  return out;
}

std::string Reply::raw() const {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += "\r\n";
    out += std::to_string(code);
    out += (i + 1 < lines.size()) ? '-' : ' ';
    out += lines[i];
  }
  if (lines.empty()) out = std::to_string(code);
  return out;
}

std::string Reply::one_line() const {
  std::string t = text();
  std::string out = code ? std::to_string(code) : std::string();
  // Keep the enhanced code visible once even when later lines repeat it.
  if (enhanced && t.rfind(enhanced->str(), 0) != 0) {
    if (!out.empty()) out += ' ';
    out += enhanced->str();
  }
  if (!t.empty()) {
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

Reply parse_reply(std::string_view text) {
  Reply r;
  std::vector<std::string_view> raw_lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() || nl != std::string_view::npos) raw_lines.push_back(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  while (!raw_lines.empty() && raw_lines.back().empty()) raw_lines.pop_back();
  if (raw_lines.empty()) {
    r.error = "empty reply";
    return r;
  }
  for (size_t i = 0; i < raw_lines.size(); ++i) {
    std::string_view l = raw_lines[i];
    if (l.size() < 3 || !is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2]) || l[0] < '2' ||
        l[0] > '5' || l[1] > '5') {
      r.error = "line " + std::to_string(i + 1) + " does not start with a three-digit reply code";
      return r;
    }
    int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    if (i == 0) r.code = code;
    if (code != r.code) {
      r.error = "reply code changes between lines";
      return r;
    }
    bool last = i + 1 == raw_lines.size();
    char sep = l.size() > 3 ? l[3] : ' ';
    if (sep != ' ' && sep != '-') {
      r.error = "reply code not followed by space or hyphen";
      return r;
    }
    if (sep == '-' && last) {
      // A continuation line with nothing after it: accept, many servers get this wrong.
    }
    r.lines.emplace_back(l.size() > 4 ? std::string(l.substr(4)) : std::string());
  }
  r.valid = true;
  for (const auto& l : r.lines) {
    if (auto c = find_enhanced_code(l)) {
      r.enhanced = c;
      break;
    }
  }
  // Postfix's rule: an enhanced code whose class disagrees with the reply code is reduced
  // to x.0.0 with the reply code's class.
  int cls = r.code / 100;
  if (r.enhanced && r.enhanced->cls != cls) {
    r.enhanced =
        (cls == 2 || cls == 4 || cls == 5) ? std::optional(EnhancedCode{cls, 0, 0}) : std::nullopt;
  }
  return r;
}

std::optional<EmbeddedReply> find_embedded_reply(std::string_view text, int want_class) {
  for (size_t i = 0; i + 3 <= text.size(); ++i) {
    char a = text[i], b = text[i + 1], c = text[i + 2];
    if ((a != '4' && a != '5') || b < '0' || b > '5' || !is_digit(c)) continue;
    if (want_class && a - '0' != want_class) continue;
    if (i > 0) {
      char p = text[i - 1];
      if (p != ' ' && p != ':' && p != '[' && p != '(' && p != '<' && p != '\t' && p != '"')
        continue;
    }
    size_t end = i + 3;
    if (end < text.size() && text[end] != ' ' && text[end] != '-' && text[end] != ':' &&
        text[end] != ']' && text[end] != ')')
      continue;
    EmbeddedReply e;
    e.code = (a - '0') * 100 + (b - '0') * 10 + (c - '0');
    e.offset = i;
    std::string_view rest = end < text.size() ? text.substr(end + 1) : std::string_view();
    e.enhanced = find_enhanced_code(rest.substr(0, std::min<size_t>(rest.size(), 24)));
    if (e.enhanced && e.enhanced->cls != e.code / 100) e.enhanced.reset();
    return e;
  }
  return std::nullopt;
}

Reply reply_from_status(std::string_view status, std::string_view text) {
  std::string_view t = trim(text);
  auto status_code = parse_enhanced_code(status);
  // A diagnostic that is itself a reply ("550 5.1.1 user unknown") is parsed as one.
  if (t.size() >= 3) {
    Reply inner = parse_reply(t);
    if (inner.valid) {
      if (!inner.enhanced && status_code && status_code->cls == inner.code / 100)
        inner.enhanced = status_code;
      return inner;
    }
  }
  // Transcripts quote the remote reply inside prose ("... RCPT TO:<x>: host mx[ip] said: 550
  // 5.1.1 ..."): the quoted code becomes the basic code, the whole text stays as evidence.
  if (auto e = find_embedded_reply(t, status_code ? status_code->cls : 0)) {
    Reply r;
    r.valid = true;
    r.code = e->code;
    r.enhanced = e->enhanced;
    if (!r.enhanced && status_code && status_code->cls == e->code / 100) r.enhanced = status_code;
    // The whole text stays (what precedes the code often names the problem), but a reply
    // quoted in brackets ends at the closing bracket: what follows is prose about it.
    std::string_view kept = t;
    char open = e->offset > 0 ? t[e->offset - 1] : '\0';
    if (open == '[' || open == '(') {
      size_t close = t.find(open == '[' ? ']' : ')', e->offset);
      if (close != std::string_view::npos) kept = t.substr(0, close + 1);
    }
    r.lines.emplace_back(kept);
    return r;
  }
  Reply r;
  r.valid = true;
  r.enhanced = status_code;
  if (!r.enhanced) r.enhanced = find_enhanced_code(t);
  if (!t.empty()) r.lines.emplace_back(t);
  if (!r.enhanced && t.empty()) {
    r.valid = false;
    r.error = "neither status nor text";
  }
  return r;
}

size_t ReplyReader::feed(std::string_view bytes) {
  size_t used = 0;
  while (used < bytes.size() && !done_ && !failed_) {
    char c = bytes[used++];
    line_ += c;
    if (line_.size() > max_line_) {
      failed_ = true;
      break;
    }
    if (c != '\n') continue;
    collected_ += line_;
    ++nlines_;
    // The final line has a space (or nothing) after the code.
    bool final = line_.size() < 4 || line_[3] != '-';
    line_.clear();
    if (final)
      done_ = true;
    else if (nlines_ >= max_lines_)
      failed_ = true;
  }
  return used;
}

Reply ReplyReader::take() {
  Reply r = parse_reply(collected_);
  collected_.clear();
  line_.clear();
  nlines_ = 0;
  done_ = false;
  return r;
}

}  // namespace bouncegate
