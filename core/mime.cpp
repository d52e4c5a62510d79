// MIME walking for the bounce parser: header fields, content types, transfer decoding and the
// part tree, bounded against hostile nesting.
#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "core/dsn_detail.hpp"

namespace bouncegate::dsn_detail {

// ---------------------------------------------------------------------------------------------
// Headers

const std::string* find_header(const Headers& h, std::string_view lname) {
  for (const auto& x : h)
    if (x.name == lname) return &x.value;
  return nullptr;
}

std::string header_or_empty(const Headers& h, std::string_view lname) {
  const std::string* v = find_header(h, lname);
  return v ? *v : std::string();
}

// Length of the field name if `line` starts a header field ("Name: value"), else 0.
std::size_t field_name_len(std::string_view line) {
  std::size_t i = 0;
  for (; i < line.size() && i < 80; ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c == ':') break;
    if (c <= 32 || c >= 127) return 0;
  }
  if (i == 0 || i >= line.size() || line[i] != ':') return 0;
  return i;
}

// Parses the header block at the start of `text`; returns the offset where the body begins.
// Lenient: a line that is neither a field nor a continuation ends the block.
std::size_t parse_headers(std::string_view text, Headers& out) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    const bool last = eol == std::string_view::npos;
    if (last) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    const std::size_t next = last ? text.size() : eol + 1;
    if (trim(line).empty()) return next;
    if (is_wsp(line[0])) {
      if (out.empty()) return pos;
      std::string& v = out.back().value;
      if (v.size() < 64 * 1024) v.append(line);  // unfolding: drop the line break, keep WSP
    } else if (std::size_t n = field_name_len(line); n > 0) {
      out.push_back({lower(line.substr(0, n)), std::string(line.substr(n + 1))});
    } else {
      return pos;
    }
    pos = next;
  }
  for (auto& h : out) h.value = std::string(trim(h.value));
  return text.size();
}

void finish_headers(Headers& h) {
  for (auto& x : h) x.value = std::string(trim(x.value));
}

// ---------------------------------------------------------------------------------------------
// MIME

ContentType parse_content_type(std::string_view v) {
  ContentType ct;
  std::size_t i = 0;
  while (i < v.size() && v[i] != ';') ++i;
  std::string t = lower(trim(v.substr(0, i)));
  if (!t.empty() && t.find('/') != std::string::npos) ct.type = t;
  while (i < v.size()) {
    ++i;  // skip ';'
    while (i < v.size() && is_space(v[i])) ++i;
    std::size_t ns = i;
    while (i < v.size() && v[i] != '=' && v[i] != ';') ++i;
    std::string name = lower(trim(v.substr(ns, i - ns)));
    if (i >= v.size() || v[i] == ';') continue;
    ++i;  // skip '='
    while (i < v.size() && is_space(v[i])) ++i;
    std::string value;
    if (i < v.size() && v[i] == '"') {
      ++i;
      while (i < v.size() && v[i] != '"') {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        value.push_back(v[i++]);
      }
      if (i < v.size()) ++i;
      while (i < v.size() && v[i] != ';') ++i;
    } else {
      std::size_t vs = i;
      while (i < v.size() && v[i] != ';' && !is_space(v[i])) ++i;
      value = std::string(v.substr(vs, i - vs));
      while (i < v.size() && v[i] != ';') ++i;
    }
    if (!name.empty()) ct.params.emplace_back(std::move(name), std::move(value));
  }
  return ct;
}

std::string decode_base64(std::string_view in) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i)
      t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int8_t v = table[static_cast<unsigned char>(c)];
    if (v < 0) continue;  // whitespace and garbage are skipped, not fatal
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string decode_quoted_printable(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '=') {
      out.push_back(c);
      continue;
    }
    // Soft line break: '=' followed by optional trailing blanks and a newline.
    std::size_t j = i + 1;
    while (j < in.size() && is_wsp(in[j])) ++j;
    if (j >= in.size() || in[j] == '\n') {
      i = j;
      continue;
    }
    if (i + 2 < in.size() + 0 && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string decode_body(const Headers& h, std::string_view body) {
  std::string cte = lower(trim(header_or_empty(h, "content-transfer-encoding")));
  if (cte == "base64") return normalize_newlines(decode_base64(body));
  if (cte == "quoted-printable") return decode_quoted_printable(body);
  return std::string(body);
}

bool is_enclosed_type(const std::string& t) {
  return t == "message/rfc822" || t == "message/global" || t == "text/rfc822-headers" ||
         t == "message/rfc822-headers" || t == "message/global-headers" ||
         t == "message/partial-rfc822";
}

// Returns true when `line` is the boundary delimiter; sets `close` for the final one.
bool is_delimiter(std::string_view line, std::string_view delim, bool& close) {
  if (line.size() < delim.size() || line.substr(0, delim.size()) != delim) return false;
  std::string_view rest = line.substr(delim.size());
  if (rest.size() >= 2 && rest[0] == '-' && rest[1] == '-') {
    close = true;
    return true;
  }
  close = false;
  return trim(rest).empty();
}

void parse_body(std::string_view body, int depth, std::size_t& budget, Part& out) {
  const std::string& type = out.ct.type;
  if (type.rfind("multipart/", 0) == 0 && depth < kMaxDepth) {
    const std::string boundary = out.ct.param("boundary");
    if (!boundary.empty()) {
      const std::string delim = "--" + boundary;
      std::vector<std::string_view> segments;
      std::size_t pos = 0;
      std::size_t seg_start = std::string_view::npos;
      bool closed = false;
      while (pos < body.size() && !closed) {
        std::size_t eol = body.find('\n', pos);
        if (eol == std::string_view::npos) eol = body.size();
        std::string_view line = body.substr(pos, eol - pos);
        bool close = false;
        if (line.size() >= 2 && line[0] == '-' && is_delimiter(line, delim, close)) {
          if (seg_start != std::string_view::npos) {
            std::size_t end = pos > seg_start ? pos - 1 : seg_start;  // drop the LF before "--"
            segments.push_back(body.substr(seg_start, end - seg_start));
          }
          seg_start = eol < body.size() ? eol + 1 : body.size();
          closed = close;
        }
        pos = eol + 1;
      }
      if (!closed && seg_start != std::string_view::npos && seg_start < body.size())
        segments.push_back(body.substr(seg_start));  // truncated: keep what arrived
      if (!segments.empty()) {
        for (std::string_view seg : segments) {
          if (budget == 0) break;
          --budget;
          out.children.emplace_back();
          parse_entity(seg, depth + 1, budget, out.children.back());
        }
        return;
      }
    }
    // No usable boundary: treat the body as text so free-text heuristics still see it.
    out.body = std::string(body);
    return;
  }
  if (is_enclosed_type(type) && depth < kMaxDepth && budget > 0) {
    --budget;
    std::string decoded = decode_body(out.headers, body);
    out.children.emplace_back();
    Part& child = out.children.back();
    child.enclosed = true;
    parse_entity(decoded, depth + 1, budget, child);
    return;
  }
  out.body = decode_body(out.headers, body);
}

void parse_entity(std::string_view text, int depth, std::size_t& budget, Part& out) {
  std::size_t off = parse_headers(text, out.headers);
  finish_headers(out.headers);
  if (const std::string* ct = find_header(out.headers, "content-type")) {
    out.ct = parse_content_type(*ct);
  } else if (depth > 0 && (find_header(out.headers, "reporting-mta") ||
                           find_header(out.headers, "final-recipient") ||
                           find_header(out.headers, "original-recipient"))) {
    // A delivery-status body whose part headers were left out: the fields start at once.
    out.ct.type = "message/delivery-status";
    out.body = std::string(text);
    return;
  }
  parse_body(text.substr(std::min(off, text.size())), depth, budget, out);
}

void collect(const Part& p, Collected& c) {
  if (p.enclosed) {
    c.enclosed.push_back(&p);
    return;  // the returned original is evidence, not the report itself
  }
  if (!p.children.empty()) {
    for (const auto& ch : p.children) collect(ch, c);
    return;
  }
  const std::string& t = p.ct.type;
  if (t == "message/delivery-status" || t == "message/global-delivery-status" ||
      t == "text/delivery-status") {
    c.dsn_parts.push_back(&p);
  } else if (t == "message/feedback-report") {
    c.feedback_parts.push_back(&p);
  } else if (t == "text/html") {
    c.htmls.push_back(&p);
  } else if (t.rfind("text/", 0) == 0 || t.rfind("multipart/", 0) == 0) {
    c.texts.push_back(&p);
  }
}

}  // namespace bouncegate::dsn_detail
