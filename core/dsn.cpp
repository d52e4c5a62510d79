// Bounce/complaint parser: MIME walk, RFC 3464/5965 field extraction, and heuristics for the
// free-text bounces that many MTAs send. Hand-written scanning only, so it stays fast and total.
#include "core/dsn.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "core/json_parse.hpp"

namespace bouncegate {
namespace {

// Limits keep hostile input (deep nesting, thousands of parts) from costing much.
constexpr int kMaxDepth = 12;
constexpr std::size_t kMaxParts = 400;
constexpr std::size_t kMaxDiagnostic = 1000;
constexpr std::size_t kMaxRecipients = 500;

// ---------------------------------------------------------------------------------------------
// Small string helpers (ASCII only: mail syntax is ASCII, 8-bit bytes are just data).

char lc(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_alnum(char c) {
  return is_digit(c) || is_alpha(c);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lc(c);
  return out;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lc(a[i]) != lc(b[i])) return false;
  return true;
}

bool istarts(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ieq(s.substr(0, prefix.size()), prefix);
}

// `needle` must be lower case.
std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from = 0) {
  if (needle.empty()) return from <= hay.size() ? from : std::string_view::npos;
  if (hay.size() < needle.size()) return std::string_view::npos;
  const char first = needle[0];
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (lc(hay[i]) != first) continue;
    std::size_t k = 1;
    while (k < needle.size() && lc(hay[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

bool icontains(std::string_view hay, std::string_view needle) {
  return ifind(hay, needle) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Collapses runs of whitespace (what folding leaves behind) into single spaces.
std::string collapse_ws(std::string_view s, std::size_t limit = std::string::npos) {
  std::string out;
  bool pending = false;
  for (char c : s) {
    if (is_space(c)) {
      pending = !out.empty();
      continue;
    }
    if (pending) out.push_back(' ');
    pending = false;
    out.push_back(c);
    if (out.size() >= limit) break;
  }
  return out;
}

// Splits text into lines without the terminating '\n'. Input is already LF-normalised.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    lines.push_back(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
  return lines;
}

std::string normalize_newlines(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\r') {
      out.push_back('\n');
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Headers

struct Header {
  std::string name;  // lower case
  std::string value;
};
using Headers = std::vector<Header>;

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

struct ContentType {
  std::string type = "text/plain";
  std::vector<std::pair<std::string, std::string>> params;
  std::string param(std::string_view name) const {
    for (const auto& p : params)
      if (p.first == name) return p.second;
    return {};
  }
};

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

struct Part {
  Headers headers;
  ContentType ct;
  std::string body;  // decoded body of leaf parts
  std::vector<Part> children;
  bool enclosed = false;  // the returned original message (message/rfc822, *-headers)
};

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

void parse_entity(std::string_view text, int depth, std::size_t& budget, Part& out);

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

struct Collected {
  std::vector<const Part*> dsn_parts;
  std::vector<const Part*> feedback_parts;
  std::vector<const Part*> enclosed;
  std::vector<const Part*> texts;
  std::vector<const Part*> htmls;
};

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

// ---------------------------------------------------------------------------------------------
// Addresses and status codes

bool is_local_char(char c) {
  return is_alnum(c) || std::string_view("!#$%&'*+/=?^_`{|}~.-").find(c) != std::string_view::npos;
}
bool is_domain_char(char c) {
  return is_alnum(c) || c == '.' || c == '-' || c == '_';
}

struct AddrHit {
  std::size_t pos;  // offset of the first character of the address in the scanned text
  std::size_t len;
  std::string addr;  // normalised
};

std::string lower_domain(std::string_view addr) {
  std::string out(addr);
  std::size_t at = out.rfind('@');
  if (at != std::string::npos)
    for (std::size_t i = at + 1; i < out.size(); ++i) out[i] = lc(out[i]);
  return out;
}

// Finds bare addresses (local@domain.tld) in free text, left to right.
std::vector<AddrHit> find_addresses(std::string_view s, std::size_t limit = 64) {
  std::vector<AddrHit> hits;
  std::size_t from = 0;
  while (hits.size() < limit) {
    std::size_t at = s.find('@', from);
    if (at == std::string_view::npos) break;
    std::size_t b = at;
    while (b > 0 && is_local_char(s[b - 1])) --b;
    while (b < at && (s[b] == '.' || s[b] == '=' || s[b] == '/')) ++b;  // not a valid start
    std::size_t e = at + 1;
    while (e < s.size() && is_domain_char(s[e])) ++e;
    while (e > at + 1 && (s[e - 1] == '.' || s[e - 1] == '-')) --e;
    std::string_view domain = s.substr(at + 1, e - at - 1);
    const bool ok = b < at && !domain.empty() && domain.find('.') != std::string_view::npos &&
                    domain.front() != '.' && is_alpha(domain.back());
    if (ok) {
      hits.push_back({b, e - b, lower_domain(s.substr(b, e - b))});
      from = e;
    } else {
      from = at + 1;
    }
  }
  return hits;
}

// Normalises a recipient field value: drops an address-type prefix ("rfc822;"), angle
// brackets, quotes and any display name; lower-cases the domain.
std::string clean_address(std::string_view v) {
  v = trim(v);
  std::size_t semi = v.find(';');
  if (semi != std::string_view::npos && semi < 20) {
    std::string_view type = trim(v.substr(0, semi));
    bool token = !type.empty();
    for (char c : type)
      if (!is_alnum(c) && c != '-') token = false;
    if (token) v = trim(v.substr(semi + 1));
  }
  std::size_t lt = v.find('<');
  if (lt != std::string_view::npos) {
    std::size_t gt = v.find('>', lt);
    v = v.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
  }
  v = trim(v);
  while (!v.empty() && (v.front() == '"' || v.front() == '\'')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '"' || v.back() == '\'' || v.back() == '.' || v.back() == ','))
    v.remove_suffix(1);
  return lower_domain(trim(v));
}

std::string strip_angles(std::string_view v) {
  v = trim(v);
  std::size_t lt = v.find('<');
  if (lt != std::string_view::npos) {
    std::size_t gt = v.find('>', lt);
    if (gt != std::string_view::npos) v = v.substr(lt + 1, gt - lt - 1);
  }
  return std::string(trim(v));
}

// Strips "dns;"/"smtp;" style type prefixes from DSN field values.
std::string strip_type_prefix(std::string_view v) {
  v = trim(v);
  std::size_t semi = v.find(';');
  if (semi != std::string_view::npos && semi > 0 && semi < 20) {
    std::string_view type = trim(v.substr(0, semi));
    bool token = !type.empty();
    for (char c : type)
      if (!is_alnum(c) && c != '-' && c != '_') token = false;
    if (token) v = trim(v.substr(semi + 1));
  }
  return collapse_ws(v);
}

// Finds an RFC 3463 enhanced status code ("5.1.1") standing on its own, not inside an IP
// address or a version number. `classes` lists the accepted first digits.
std::string find_status(std::string_view s, std::string_view classes = "45") {
  for (std::size_t i = 0; i + 4 < s.size() + 0; ++i) {
    if (classes.find(s[i]) == std::string_view::npos) continue;
    if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '-' || s[i - 1] == '/'))
      continue;
    std::size_t j = i + 1;
    if (j >= s.size() || s[j] != '.') continue;
    ++j;
    std::size_t d1 = j;
    while (j < s.size() && is_digit(s[j]) && j - d1 < 4) ++j;
    if (j == d1 || j - d1 > 3 || j >= s.size() || s[j] != '.') continue;
    ++j;
    std::size_t d2 = j;
    while (j < s.size() && is_digit(s[j]) && j - d2 < 4) ++j;
    if (j == d2 || j - d2 > 3) continue;
    if (j < s.size() && (is_alnum(s[j]) || s[j] == '-' || s[j] == '/')) continue;
    if (j + 1 < s.size() && s[j] == '.' && is_digit(s[j + 1])) continue;  // IPv4 / versions
    return std::string(s.substr(i, j - i));
  }
  return {};
}

// The last code in a diagnostic: when a server quotes the reply it got from the next hop
// ("554 4.4.7 expired <421 4.4.2 timed out>"), the quoted one is the root cause.
std::string find_last_status(std::string_view s) {
  std::string last;
  std::size_t from = 0;
  while (from < s.size()) {
    std::string code = find_status(s.substr(from), "245");
    if (code.empty()) break;
    std::size_t at = s.find(code, from);
    if (at == std::string_view::npos) break;
    last = code;
    from = at + code.size();
  }
  return last;
}

// Three-digit SMTP reply code standing on its own ("550 ", "550-").
std::string find_reply_code(std::string_view s) {
  for (std::size_t i = 0; i + 3 <= s.size(); ++i) {
    char c = s[i];
    if (c != '2' && c != '4' && c != '5') continue;
    if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '-' || s[i - 1] == '#' ||
                  s[i - 1] == ':' || s[i - 1] == '/'))
      continue;
    if (!is_digit(s[i + 1]) || !is_digit(s[i + 2])) continue;
    if (s[i + 1] > '5') continue;
    if (i + 3 < s.size() && s[i + 3] != ' ' && s[i + 3] != '-' && s[i + 3] != '\t') continue;
    if (i + 3 == s.size()) continue;
    return std::string(s.substr(i, 3));
  }
  return {};
}

bool is_daemon_address(std::string_view addr) {
  std::string a = lower(addr);
  return istarts(a, "mailer-daemon@") || istarts(a, "mailer_daemon@") ||
         istarts(a, "mail-daemon@") || istarts(a, "maildaemon@") || a.find("@") == 0;
}

// ---------------------------------------------------------------------------------------------
// RFC 3464 / RFC 5965 field groups

// Parses "Name: value" field groups separated by blank lines; other lines end a group.
struct Field {
  std::string name;  // lower case
  std::string value;
  int group;
};

std::vector<Field> parse_field_groups(std::string_view body) {
  std::vector<Field> fields;
  int group = 0;
  bool in_group = false;
  for (std::string_view line : split_lines(body)) {
    if (trim(line).empty()) {
      if (in_group) ++group;
      in_group = false;
      continue;
    }
    if (is_wsp(line[0])) {
      if (in_group && !fields.empty() && fields.back().value.size() < 16 * 1024)
        fields.back().value.append(line);
      continue;
    }
    if (std::size_t n = field_name_len(line); n > 0) {
      fields.push_back({lower(line.substr(0, n)), std::string(line.substr(n + 1)), group});
      in_group = true;
    } else if (in_group) {
      ++group;
      in_group = false;
    }
  }
  for (auto& f : fields) f.value = std::string(trim(f.value));
  return fields;
}

bool has_dsn_recipient_fields(std::string_view body) {
  for (std::string_view line : split_lines(body))
    if (istarts(line, "final-recipient:") || istarts(line, "original-recipient:")) return true;
  return false;
}

std::string action_word(std::string_view v) {
  std::string a = lower(trim(v));
  std::size_t end = 0;
  while (end < a.size() && is_alpha(a[end])) ++end;
  a.resize(end);
  return a;
}

void fill_from_diagnostic(FailedRecipient& r) {
  // The remote server's own code in Diagnostic-Code is more specific than the Status the
  // reporting MTA summarised it to (often x.0.0 or 4.4.7), so it wins within the same class.
  std::string diag_status = find_last_status(r.diagnostic);
  if (r.status.empty() || (!diag_status.empty() && diag_status[0] == r.status[0]))
    if (!diag_status.empty()) r.status = diag_status;
  if (r.reply_code.empty()) r.reply_code = find_reply_code(r.diagnostic);
}

bool is_mailbox(std::string_view a) {
  std::size_t at = a.rfind('@');
  return at != std::string_view::npos && at > 0 && a.find('.', at) != std::string_view::npos &&
         a.front() != '@' && a.find('/') == std::string_view::npos;
}

// Extracts per-message and per-recipient fields from a delivery-status body.
void parse_dsn_fields(std::string_view body, ParsedFeedback& out,
                      std::vector<FailedRecipient>& rcpts) {
  std::vector<Field> fields = parse_field_groups(body);
  struct Pending {
    FailedRecipient r;
    int group;
  };
  std::vector<Pending> pend;
  auto current = [&](int group) -> FailedRecipient& {
    if (pend.empty() || pend.back().group != group) pend.push_back({{}, group});
    return pend.back().r;
  };
  for (const Field& f : fields) {
    const std::string& n = f.name;
    if (n == "reporting-mta") {
      if (out.reporting_mta.empty()) out.reporting_mta = strip_type_prefix(f.value);
    } else if (n == "final-recipient") {
      if (pend.empty() || pend.back().group != f.group || !pend.back().r.recipient.empty())
        pend.push_back({{}, f.group});
      pend.back().r.recipient = clean_address(f.value);
    } else if (n == "original-recipient") {
      if (pend.empty() || pend.back().group != f.group || !pend.back().r.original_recipient.empty())
        pend.push_back({{}, f.group});
      pend.back().r.original_recipient = clean_address(f.value);
    } else if (n == "action") {
      current(f.group).action = action_word(f.value);
    } else if (n == "status") {
      FailedRecipient& r = current(f.group);
      r.status = find_status(f.value, "245");
    } else if (n == "diagnostic-code") {
      current(f.group).diagnostic = strip_type_prefix(f.value).substr(0, kMaxDiagnostic);
    } else if (n == "remote-mta") {
      current(f.group).remote_mta = strip_type_prefix(f.value);
    }
  }
  for (auto& p : pend) {
    FailedRecipient& r = p.r;
    // Source routes ("@relay:user@host") and non-mailbox final recipients (files, pipes)
    // fall back to the Original-Recipient the sender actually used.
    if (!r.recipient.empty() && r.recipient.front() == '@') {
      std::size_t colon = r.recipient.rfind(':');
      r.recipient = colon == std::string::npos ? std::string() : r.recipient.substr(colon + 1);
    }
    if (!is_mailbox(r.recipient) && is_mailbox(r.original_recipient))
      r.recipient = r.original_recipient;
    if (r.recipient.empty()) r.recipient = r.original_recipient;
    if (r.recipient.empty() && r.action.empty() && r.status.empty() && r.diagnostic.empty())
      continue;
    fill_from_diagnostic(r);
    if (rcpts.size() < kMaxRecipients) rcpts.push_back(std::move(r));
  }
}

// ---------------------------------------------------------------------------------------------
// Free text

std::string strip_html(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  for (std::size_t i = 0; i < html.size(); ++i) {
    char c = html[i];
    if (c == '<') {
      std::size_t e = html.find('>', i);
      if (e == std::string_view::npos) break;
      std::string_view tag = html.substr(i + 1, e - i - 1);
      if (istarts(tag, "br") || istarts(tag, "p") || istarts(tag, "/p") || istarts(tag, "div") ||
          istarts(tag, "/div") || istarts(tag, "tr") || istarts(tag, "/tr") || istarts(tag, "li"))
        out.push_back('\n');
      else
        out.push_back(' ');
      i = e;
    } else if (c == '&') {
      static const std::pair<std::string_view, char> ents[] = {
          {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&nbsp;", ' '}, {"&quot;", '"'}};
      bool done = false;
      for (const auto& [ent, ch] : ents) {
        if (istarts(html.substr(i), ent)) {
          out.push_back(ch);
          i += ent.size() - 1;
          done = true;
          break;
        }
      }
      if (!done) out.push_back(c);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool is_original_header_name(std::string_view n) {
  static constexpr std::string_view names[] = {"received",
                                               "return-path",
                                               "message-id",
                                               "dkim-signature",
                                               "from",
                                               "to",
                                               "subject",
                                               "date",
                                               "mime-version",
                                               "x-mailer",
                                               "delivered-to",
                                               "reply-to",
                                               "content-type",
                                               "x-received",
                                               "arc-seal",
                                               "x-originating-ip",
                                               "domainkey-signature",
                                               "authentication-results",
                                               "cc",
                                               "content-transfer-encoding",
                                               "user-agent",
                                               "x-google-smtp-source",
                                               "references",
                                               "in-reply-to",
                                               "x-original-to",
                                               "sender",
                                               "errors-to"};
  for (auto x : names)
    if (ieq(n, x)) return true;
  return false;
}

// Line index where the returned copy of the original message starts inside free text.
std::size_t find_original_start(const std::vector<std::string_view>& lines) {
  static constexpr std::string_view always[] = {"below this line",
                                                "message headers follow",
                                                "headers follow",
                                                "is a copy of",
                                                "original message follows",
                                                "original message headers",
                                                "copy of the message",
                                                "copy of your message",
                                                "undelivered message follows",
                                                "returned message follows",
                                                "unsent message below",
                                                "original message ---",
                                                "original message --",
                                                "header of the original",
                                                "headers of the original",
                                                "message header follows",
                                                "original message is attached",
                                                "content of the original message"};
  static constexpr std::string_view framed[] = {
      "original", "copy", "header", "returned", "undelivered", "rfc822", "message follows"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view t = trim(lines[i]);
    if (t.empty()) continue;
    if (t.size() < 160) {
      for (auto k : always)
        if (icontains(t, k)) return i;
      const bool frame = t.size() >= 2 && !is_alnum(t[0]) && t[0] == t[1] && t[0] != '<';
      if (frame)
        for (auto k : framed)
          if (icontains(t, k)) return i;
    }
    // A run of typical message header fields at column 0 is the returned original.
    std::size_t n = field_name_len(lines[i]);
    if (n > 0 && is_original_header_name(lines[i].substr(0, n))) {
      int known = 0;
      bool strong = false;
      for (std::size_t j = i; j < lines.size() && j < i + 40; ++j) {
        if (lines[j].empty()) break;
        if (is_wsp(lines[j][0])) continue;
        std::size_t m = field_name_len(lines[j]);
        if (m == 0) break;
        std::string_view name = lines[j].substr(0, m);
        if (is_original_header_name(name)) ++known;
        // Summaries quoted in bounce text use To/Cc/Subject/Date; a real header copy has more.
        if (!ieq(name, "to") && !ieq(name, "cc") && !ieq(name, "subject") && !ieq(name, "date") &&
            is_original_header_name(name))
          strong = true;
      }
      if (known >= 3 && strong) return i;
    }
  }
  return lines.size();
}

struct Evidence {
  int bounce = 0;
  bool autoreply = false;
  std::string autoreply_why;
};

bool subject_is_bounce(std::string_view s) {
  static constexpr std::string_view words[] = {"undeliver",
                                               "delivery status notification",
                                               "failure notice",
                                               "returned mail",
                                               "mail delivery failed",
                                               "delivery failure",
                                               "delivery failed",
                                               "could not be delivered",
                                               "non-delivery",
                                               "nondelivery",
                                               "non delivery",
                                               "not delivered",
                                               "delivery problem",
                                               "mail system error",
                                               "returned to sender",
                                               "delivery notification",
                                               "failed delivery",
                                               "delivery has failed",
                                               "mail delivery",
                                               "message not delivered",
                                               "unable to deliver",
                                               "rejected",
                                               "bounce",
                                               "mail failure",
                                               "delayed mail",
                                               "warning: could not send",
                                               "undelivered",
                                               "unzustellbar",
                                               "delivery error",
                                               "failure delivery",
                                               "failed mail",
                                               "permanent failure",
                                               "notification de",
                                               "error sending",
                                               "mail could not",
                                               "could not send",
                                               "errors from"};
  for (auto w : words)
    if (icontains(s, w)) return true;
  return false;
}

bool text_is_bounce(std::string_view s) {
  static constexpr std::string_view phrases[] = {"could not be delivered",
                                                 "unable to deliver",
                                                 "permanent error",
                                                 "address(es) failed",
                                                 "user unknown",
                                                 "delivery to the following",
                                                 "did not reach",
                                                 "undeliverable",
                                                 "delivery has failed",
                                                 "was not delivered",
                                                 "permanent fatal error",
                                                 "remote host said",
                                                 "smtp error",
                                                 "could not deliver",
                                                 "delivery failed",
                                                 "not be delivered",
                                                 "failed permanently",
                                                 "mailbox unavailable",
                                                 "error delivering",
                                                 "delivery attempt",
                                                 "couldn't be delivered",
                                                 "message was not sent",
                                                 "the following addresses",
                                                 "following recipient",
                                                 "no such user",
                                                 "undelivered",
                                                 "delivery problem",
                                                 "mail delivery",
                                                 "returned to the sender",
                                                 "rejected your message",
                                                 "the mail system",
                                                 "giving up",
                                                 "could not be sent",
                                                 "wasn't able to deliver",
                                                 "message could not",
                                                 "delivery status",
                                                 "transcript of session"};
  for (auto p : phrases)
    if (icontains(s, p)) return true;
  return false;
}

Evidence gather_evidence(const Part& root, const Collected& c, std::string_view human) {
  Evidence ev;
  const Headers& h = root.headers;
  std::string from = lower(header_or_empty(h, "from"));
  std::string subject = header_or_empty(h, "subject");
  if (icontains(from, "mailer-daemon") || icontains(from, "postmaster") ||
      icontains(from, "mail delivery") || icontains(from, "mail-daemon") ||
      icontains(from, "mailer_daemon") || icontains(from, "post_master") ||
      icontains(from, "mail administrator") || icontains(from, "mail system") ||
      icontains(from, "delivery subsystem"))
    ev.bounce += 2;
  if (find_header(h, "x-failed-recipients")) ev.bounce += 3;
  if (subject_is_bounce(subject)) ev.bounce += 2;
  if (const std::string* rp = find_header(h, "return-path"); rp && strip_angles(*rp).empty())
    ev.bounce += 1;
  if (root.ct.type == "multipart/report") ev.bounce += 2;
  if (!c.enclosed.empty()) ev.bounce += 1;
  if (text_is_bounce(human)) ev.bounce += 2;

  std::string as = lower(header_or_empty(h, "auto-submitted"));
  if (istarts(as, "auto-replied")) ev.autoreply_why = "Auto-Submitted: auto-replied";
  if (find_header(h, "x-autoreply") || find_header(h, "x-autorespond") ||
      find_header(h, "x-autoresponder"))
    ev.autoreply_why = "X-Autoreply header";
  if (ieq(trim(header_or_empty(h, "precedence")), "auto_reply"))
    ev.autoreply_why = "Precedence: auto_reply";
  static constexpr std::string_view subj[] = {
      "out of office", "out of the office", "automatic reply", "auto reply",
      "autoreply",     "auto-reply",        "auto response",   "autoresponse",
      "auto-response", "away from",         "vacation",        "abwesenheit",
      "absence",       "away until",        "on leave",        "auto:"};
  for (auto s : subj)
    if (icontains(subject, s)) ev.autoreply_why = "auto-reply subject";
  ev.autoreply = !ev.autoreply_why.empty();
  return ev;
}

// Shapes an address taken from the returned headers ("Name <a@b>", lists).
std::vector<std::string> addresses_in_header(std::string_view v) {
  std::vector<std::string> out;
  for (auto& hit : find_addresses(v, 50)) out.push_back(std::move(hit.addr));
  return out;
}

bool contains_addr(const std::vector<std::string>& v, std::string_view a) {
  for (const auto& x : v)
    if (ieq(x, a)) return true;
  return false;
}

// Words that, right before an address, mark it as the failed recipient.
bool recipient_context(std::string_view before) {
  std::string b = lower(before.substr(before.size() > 48 ? before.size() - 48 : 0));
  while (!b.empty() && (is_space(b.back()) || b.back() == '<' || b.back() == '"' ||
                        b.back() == ':' || b.back() == '\'' || b.back() == '('))
    b.pop_back();
  if (b.size() >= 4 && b.compare(b.size() - 4, 4, "from") == 0) return false;
  static constexpr std::string_view tails[] = {
      "rcpt to",          "to",   "for",     "recipient",    "recipients",   "address",
      "addressee",        "user", "mailbox", "destinatario", "destinataire", "empfanger",
      "recipient address"};
  for (auto t : tails)
    if (b.size() >= t.size() && b.compare(b.size() - t.size(), t.size(), t) == 0 &&
        (b.size() == t.size() || !is_alpha(b[b.size() - t.size() - 1])))
      return true;
  return false;
}

std::string_view lstrip_bullets(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && (is_space(line[i]) || line[i] == '*' || line[i] == '-' ||
                             line[i] == '>' || line[i] == '#' || line[i] == '+'))
    ++i;
  // Sendmail transcripts: "550 <user@host>... User unknown".
  if (i + 4 <= line.size() && (line[i] == '4' || line[i] == '5') && is_digit(line[i + 1]) &&
      is_digit(line[i + 2]) && (line[i + 3] == ' ' || line[i + 3] == '-')) {
    i += 4;
    while (i < line.size() && is_wsp(line[i])) ++i;
  }
  return line.substr(i);
}

struct TextRecipient {
  std::string addr;
  std::size_t line;  // line index of the mention that made it a recipient
};

// Best-effort recipient discovery in the human-readable part of a free-text bounce.
std::vector<TextRecipient> recipients_from_text(const std::vector<std::string_view>& lines,
                                                std::size_t end,
                                                const std::vector<std::string>& exclude) {
  std::vector<TextRecipient> line_start, labelled, anywhere;
  auto add = [](std::vector<TextRecipient>& v, const std::string& a, std::size_t ln) {
    for (const auto& x : v)
      if (ieq(x.addr, a)) return;
    if (v.size() < kMaxRecipients) v.push_back({a, ln});
  };
  for (std::size_t i = 0; i < end && i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.find('@') == std::string_view::npos) continue;
    std::string_view body = lstrip_bullets(line);
    const std::size_t body_off = static_cast<std::size_t>(body.data() - line.data());
    for (const AddrHit& hit : find_addresses(line)) {
      if (is_daemon_address(hit.addr) || contains_addr(exclude, hit.addr)) continue;
      std::size_t rel = hit.pos - std::min(hit.pos, body_off);
      std::string_view lead = hit.pos >= body_off ? body.substr(0, rel) : std::string_view();
      std::string_view before = line.substr(0, hit.pos);
      // Message-ID-like tokens are not recipients.
      if (icontains(before.substr(before.size() > 16 ? before.size() - 16 : 0), "message-id"))
        continue;
      const bool at_start = hit.pos >= body_off && (lead.empty() || lead == "<" || lead == "\"");
      if (at_start) {
        add(line_start, hit.addr, i);
      } else if (recipient_context(before)) {
        add(labelled, hit.addr, i);
      } else if (!istarts(hit.addr, "postmaster@")) {
        add(anywhere, hit.addr, i);
      }
    }
  }
  if (!line_start.empty()) return line_start;
  if (!labelled.empty()) return labelled;
  return anywhere;
}

// Text recipients; when nothing but the sender side's own addresses is listed (a message to
// oneself), the listed lines still win over guessing.
std::vector<TextRecipient> text_recipients(const std::vector<std::string_view>& lines,
                                           std::size_t end,
                                           const std::vector<std::string>& exclude) {
  std::vector<TextRecipient> r = recipients_from_text(lines, end, exclude);
  if (!r.empty() || exclude.empty()) return r;
  std::vector<TextRecipient> all = recipients_from_text(lines, end, {});
  std::vector<TextRecipient> listed;
  for (auto& m : all) {
    std::string_view body = lstrip_bullets(lines[m.line]);
    if (!body.empty() && body[0] == '<') body.remove_prefix(1);
    if (istarts(body, m.addr)) listed.push_back(m);
  }
  return listed;
}

std::string original_message_id(const Headers& h) {
  if (const std::string* v = find_header(h, "message-id")) return strip_angles(*v);
  return {};
}

bool looks_delayed(std::string_view text) {
  static constexpr std::string_view words[] = {
      "will continue",      "will be retried",        "still trying",
      "warning only",       "not yet been delivered", "delayed",
      "will retry",         "delivery delayed",       "has been delayed",
      "still being retried"};
  for (auto w : words)
    if (icontains(text, w)) return true;
  return false;
}

// Per-recipient evidence from free text: the lines from its mention to the next one.
void annotate_from_text(std::vector<FailedRecipient>& rcpts,
                        const std::vector<TextRecipient>& mentions,
                        const std::vector<std::string_view>& lines, std::size_t end) {
  std::string whole;
  for (std::size_t i = 0; i < end && i < lines.size(); ++i) {
    whole.append(lines[i]);
    whole.push_back('\n');
  }
  const std::string whole_status = find_status(whole);
  std::string whole_diag;
  for (std::size_t i = 0; i < end && i < lines.size(); ++i) {
    if (!find_reply_code(lines[i]).empty() || !find_status(lines[i]).empty()) {
      whole_diag = collapse_ws(lines[i], kMaxDiagnostic);
      break;
    }
  }
  std::vector<std::size_t> starts;
  for (const auto& m : mentions) starts.push_back(m.line);
  for (auto& r : rcpts) {
    std::size_t from = end;
    for (const auto& m : mentions)
      if (ieq(m.addr, r.recipient)) from = m.line;
    if (from >= end) {
      // Not mentioned in the listing (e.g. from X-Failed-Recipients): find any mention.
      for (std::size_t i = 0; i < end && i < lines.size(); ++i)
        if (ifind(lines[i], lower(r.recipient)) != std::string_view::npos) {
          from = i;
          break;
        }
    }
    std::string segment;
    if (from < end) {
      std::size_t to = end;
      for (std::size_t s : starts)
        if (s > from && s < to) to = s;
      std::string_view first = lines[from];
      std::size_t p = ifind(first, lower(r.recipient));
      if (p != std::string_view::npos) first = first.substr(p + r.recipient.size());
      segment.append(first);
      for (std::size_t i = from + 1; i < to && i < lines.size() && segment.size() < 4096; ++i) {
        segment.push_back('\n');
        segment.append(lines[i]);
      }
    }
    const std::string seg_status = find_status(segment);
    // A DSN's generic x.0.0 yields to the specific code the text gives for this recipient.
    const bool generic = r.status.size() == 5 && r.status.compare(1, 4, ".0.0") == 0;
    if (generic && !seg_status.empty() && seg_status[0] == r.status[0]) r.status = seg_status;
    if (r.status.empty()) r.status = seg_status;
    if (r.status.empty()) r.status = whole_status;
    if (r.diagnostic.empty()) {
      std::string d = collapse_ws(segment, kMaxDiagnostic);
      while (!d.empty() && std::string_view(">:.,;)\"' ").find(d.front()) != std::string_view::npos)
        d.erase(0, 1);
      r.diagnostic = (find_reply_code(d).empty() && find_status(d).empty() && !whole_diag.empty())
                         ? whole_diag
                         : d;
    }
    if (r.reply_code.empty()) r.reply_code = find_reply_code(r.diagnostic);
    if (r.remote_mta.empty()) {
      std::size_t hp = ifind(segment, "host ");
      if (hp != std::string::npos) {
        std::size_t s = hp + 5, e = s;
        while (e < segment.size() && (is_domain_char(segment[e]))) ++e;
        std::string host = segment.substr(s, e - s);
        if (host.find('.') != std::string::npos && is_alpha(host.back()))
          r.remote_mta = lower(host);
      }
    }
    if (r.action.empty()) {
      // No Action field (or free text): infer it from the status class.
      if (r.status.rfind('2', 0) == 0)
        r.action = "delivered";
      else
        r.action = (r.status.rfind('4', 0) == 0 && looks_delayed(whole)) ? "delayed" : "failed";
    }
  }
}

void dedupe(std::vector<FailedRecipient>& rcpts) {
  std::vector<FailedRecipient> out;
  for (auto& r : rcpts) {
    bool dup = false;
    for (auto& o : out)
      if (!r.recipient.empty() && ieq(o.recipient, r.recipient)) {
        dup = true;
        // Keep the most informative copy of each field.
        if (o.status.empty()) o.status = r.status;
        if (o.diagnostic.empty()) o.diagnostic = r.diagnostic;
        if (o.action.empty()) o.action = r.action;
        break;
      }
    if (!dup) out.push_back(std::move(r));
  }
  rcpts = std::move(out);
}

// ---------------------------------------------------------------------------------------------
// Amazon SES / SNS JSON notifications (bounce, complaint, delivery) sent as mail bodies.

// Reads the JSON string literal starting at `pos` (which must be '"').
// ---------------------------------------------------------------------------------------------
// Amazon SES notifications (JSON, directly or inside an SNS envelope), read with the project's
// JSON parser: a key inside a string or another object is never mistaken for the field.

// The JSON document starting at `open` ('{'), bounded by its closing brace (skipping strings).
std::string_view json_document(std::string_view s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i)
        if (s[i] == '\\') ++i;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return s.substr(open, i + 1 - open);
    }
  }
  return s.substr(open);
}

std::string json_str(const JsonValue* obj, std::string_view key) {
  if (!obj) return {};
  return obj->string_at(key).value_or("");
}

// The original's RFC 5322 Message-ID: mail.commonHeaders.messageId, else the Message-ID in
// mail.headers; SES's own mail.messageId is not the header and never used.
std::string ses_original_message_id(const JsonValue* mail) {
  if (!mail) return {};
  std::string mid = json_str(mail->find("commonHeaders"), "messageId");
  if (mid.empty())
    if (const JsonValue* hs = mail->find("headers"); hs && hs->is_array())
      for (const auto& h : hs->items)
        if (ieq(json_str(&h, "name"), "message-id")) mid = json_str(&h, "value");
  return strip_angles(mid);
}

// Returns true when `doc` is an SES notification; fills `out` accordingly.
bool parse_ses_json(std::string_view doc, ParsedFeedback& out) {
  std::string why;
  auto root = parse_json(doc, &why);
  if (!root) {
    // Notifications mailed by SNS arrive folded at 76 columns, line breaks inside strings
    // included; a JSON line break outside a string is white space, so removing them all
    // restores the document.
    std::string unfolded;
    for (char c : doc)
      if (c != '\n' && c != '\r') unfolded += c;
    root = parse_json(unfolded, &why);
  }
  if (!root || !root->is_object()) return false;
  // Delivered through SNS the notification is a JSON string in the "Message" member.
  if (auto inner = root->string_at("Message"); inner && !root->find("notificationType"))
    return parse_ses_json(*inner, out);
  std::string type = json_str(&*root, "notificationType");
  if (type.empty()) type = json_str(&*root, "eventType");
  type = lower(type);
  if (type != "bounce" && type != "complaint" && type != "delivery") return false;
  out.original_message_id = ses_original_message_id(root->find("mail"));
  auto recipients = [](const JsonValue* section, std::string_view key) {
    const JsonValue* a = section ? section->find(key) : nullptr;
    return a && a->is_array() ? &a->items : nullptr;
  };
  if (type == "complaint") {
    const JsonValue* c = root->find("complaint");
    out.kind = FeedbackKind::arf;
    std::string ft = lower(json_str(c, "complaintFeedbackType"));
    if (ft.empty()) ft = "abuse";
    if (auto* list = recipients(c, "complainedRecipients"))
      for (const auto& obj : *list) {
        if (out.recipients.size() >= kMaxRecipients) break;
        FailedRecipient r;
        r.recipient = clean_address(json_str(&obj, "emailAddress"));
        r.action = "failed";
        r.feedback_type = ft;
        if (!r.recipient.empty()) out.recipients.push_back(std::move(r));
      }
    return true;
  }
  out.kind = FeedbackKind::nonstandard_bounce;
  if (type == "delivery") {
    const JsonValue* d = root->find("delivery");
    out.reporting_mta = strip_type_prefix(json_str(d, "reportingMTA"));
    std::string resp = json_str(d, "smtpResponse");
    if (auto* list = recipients(d, "recipients"))
      for (const auto& a : *list) {
        if (!a.is_string() || out.recipients.size() >= kMaxRecipients) continue;
        FailedRecipient r;
        r.recipient = clean_address(a.text);
        r.action = "delivered";
        r.diagnostic = resp;
        r.status = find_status(resp, "2");
        r.reply_code = find_reply_code(resp);
        if (!r.recipient.empty()) out.recipients.push_back(std::move(r));
      }
    return true;
  }
  const JsonValue* b = root->find("bounce");
  out.reporting_mta = strip_type_prefix(json_str(b, "reportingMTA"));
  if (auto* list = recipients(b, "bouncedRecipients"))
    for (const auto& obj : *list) {
      if (out.recipients.size() >= kMaxRecipients) break;
      FailedRecipient r;
      r.recipient = clean_address(json_str(&obj, "emailAddress"));
      r.action = action_word(json_str(&obj, "action"));
      r.status = find_status(json_str(&obj, "status"), "245");
      r.diagnostic = strip_type_prefix(json_str(&obj, "diagnosticCode"));
      fill_from_diagnostic(r);
      if (r.action.empty()) r.action = "failed";
      if (!r.recipient.empty()) out.recipients.push_back(std::move(r));
    }
  return true;
}

bool looks_like_message(std::string_view text) {
  // The first line must be a header field; binary junk and plain prose are not mail.
  std::size_t eol = text.find('\n');
  std::string_view first = text.substr(0, eol == std::string_view::npos ? text.size() : eol);
  std::size_t n = field_name_len(first);
  if (n == 0) return false;
  // Field names are printable ASCII by construction; also reject NUL-ridden headers.
  std::size_t head_end = text.find("\n\n");
  std::string_view head =
      text.substr(0, head_end == std::string_view::npos ? text.size() : head_end);
  return head.find('\0') == std::string_view::npos;
}

std::string verp_from_headers(const Headers& h) {
  for (std::string_view name : {"to", "delivered-to", "x-original-to", "envelope-to"}) {
    if (const std::string* v = find_header(h, name))
      for (const auto& a : addresses_in_header(*v))
        if (auto d = decode_verp(a)) return *d;
  }
  return {};
}

ParsedFeedback parse_impl(std::string_view raw) {
  ParsedFeedback out;
  std::string text = normalize_newlines(raw);
  std::string_view view = text;
  // mbox "From " separator line, as found in many archived bounces.
  if (view.rfind("From ", 0) == 0) {
    std::size_t eol = view.find('\n');
    view = eol == std::string_view::npos ? std::string_view() : view.substr(eol + 1);
  }
  if (trim(view).empty()) {
    out.kind = FeedbackKind::not_a_message;
    out.reason = "empty input";
    return out;
  }
  if (!looks_like_message(view)) {
    out.kind = FeedbackKind::not_a_message;
    out.reason = "no RFC 5322 header block";
    return out;
  }

  Part root;
  std::size_t budget = kMaxParts;
  parse_entity(view, 0, budget, root);
  Collected c;
  collect(root, c);
  // A report forwarded as an attachment (a mailbox rule, a help desk): the DSN or ARF is the
  // enclosed message itself. Read that report, not the wrapper around it.
  if (c.dsn_parts.empty() && c.feedback_parts.empty())
    for (const Part* e : c.enclosed)
      if (e->ct.type == "multipart/report") {
        Collected inner;
        for (const auto& ch : e->children) collect(ch, inner);
        if (!inner.dsn_parts.empty() || !inner.feedback_parts.empty()) {
          c = std::move(inner);
          break;
        }
      }

  const Headers* orig_headers = c.enclosed.empty() ? nullptr : &c.enclosed.front()->headers;
  if (orig_headers) out.original_message_id = original_message_id(*orig_headers);

  // Human-readable text: text parts outside the returned original; HTML only as a fallback.
  std::string human;
  for (const Part* p : c.texts) {
    human.append(p->body);
    human.push_back('\n');
  }
  if (trim(human).empty())
    for (const Part* p : c.htmls) {
      human.append(normalize_newlines(strip_html(p->body)));
      human.push_back('\n');
    }
  const std::vector<std::string_view> lines = split_lines(human);
  const std::size_t cut = find_original_start(lines);

  // The returned original may be inline in the text instead of a MIME part.
  Headers inline_orig;
  if (!orig_headers && cut < lines.size()) {
    std::size_t i = cut;
    while (i < lines.size() && field_name_len(lines[i]) == 0) ++i;
    if (i < lines.size()) {
      std::size_t off = static_cast<std::size_t>(lines[i].data() - human.data());
      parse_headers(std::string_view(human).substr(off), inline_orig);
      finish_headers(inline_orig);
      out.original_message_id = original_message_id(inline_orig);
    }
  }
  const Headers& returned = orig_headers ? *orig_headers : inline_orig;

  // SES notifications carry a JSON document instead of a report part.
  if (c.feedback_parts.empty() && c.dsn_parts.empty() &&
      human.find("notificationType") != std::string::npos) {
    std::size_t brace = human.find('{');
    if (brace != std::string::npos && parse_ses_json(json_document(human, brace), out)) {
      dedupe(out.recipients);
      return out;
    }
  }

  // ARF (RFC 5965).
  if (!c.feedback_parts.empty()) {
    out.kind = FeedbackKind::arf;
    std::vector<Field> fields = parse_field_groups(c.feedback_parts.front()->body);
    std::string type;
    std::vector<std::string> rcpt, removal;
    for (const Field& f : fields) {
      if (f.name == "feedback-type" && type.empty()) type = lower(trim(f.value));
      if (f.name == "original-rcpt-to") rcpt.push_back(clean_address(f.value));
      if (f.name == "removal-recipient") removal.push_back(clean_address(f.value));
      if (f.name == "reporting-mta" && out.reporting_mta.empty())
        out.reporting_mta = strip_type_prefix(f.value);
    }
    if (rcpt.empty()) rcpt = removal;
    if (rcpt.empty())
      for (const char* name : {"to", "delivered-to", "x-original-to"})
        if (rcpt.empty())
          if (const std::string* v = find_header(returned, name)) rcpt = addresses_in_header(*v);
    if (type.empty()) type = "abuse";
    for (auto& a : rcpt) {
      if (a.empty() || out.recipients.size() >= kMaxRecipients) continue;
      FailedRecipient r;
      r.recipient = std::move(a);
      r.action = "failed";
      r.feedback_type = type;
      out.recipients.push_back(std::move(r));
    }
    dedupe(out.recipients);
    return out;
  }

  // Microsoft JMRP (junk mail reporting program) complaints are not ARF: the complaint is the
  // returned original, whose X-HmXmrOriginalRecipient header names the complaining recipient.
  if (orig_headers)
    if (const std::string* jmrp = find_header(*orig_headers, "x-hmxmroriginalrecipient")) {
      out.kind = FeedbackKind::arf;
      for (auto& a : addresses_in_header(*jmrp)) {
        if (out.recipients.size() >= kMaxRecipients) break;
        FailedRecipient r;
        r.recipient = std::move(a);
        r.action = "failed";
        r.feedback_type = "abuse";
        out.recipients.push_back(std::move(r));
      }
      if (!out.recipients.empty()) {
        dedupe(out.recipients);
        return out;
      }
      out.kind = FeedbackKind::ignored;
      out.reason = "JMRP report without a recipient";
      return out;
    }

  // Structured delivery status, in its own part or pasted into the text.
  std::vector<FailedRecipient> rcpts;
  for (const Part* p : c.dsn_parts) parse_dsn_fields(p->body, out, rcpts);
  bool structured = !c.dsn_parts.empty();
  if (rcpts.empty()) {
    for (const Part* p : c.texts) {
      if (has_dsn_recipient_fields(p->body)) {
        parse_dsn_fields(p->body, out, rcpts);
        structured = structured || !rcpts.empty();
      }
    }
  }

  Evidence ev = gather_evidence(root, c, human);
  const bool bounce =
      structured || ev.bounce >= 3 || find_header(root.headers, "x-failed-recipients");
  if (!bounce) {
    out.kind = FeedbackKind::ignored;
    out.reason = ev.autoreply ? "auto-reply (" + ev.autoreply_why + ")" : "no bounce evidence";
    return out;
  }
  if (!structured && ev.autoreply && ev.bounce < 5 &&
      !find_header(root.headers, "x-failed-recipients")) {
    out.kind = FeedbackKind::ignored;
    out.reason = "auto-reply (" + ev.autoreply_why + ")";
    return out;
  }
  out.kind = structured ? FeedbackKind::dsn : FeedbackKind::nonstandard_bounce;

  // Addresses that belong to the sender side and must not be taken for recipients.
  std::vector<std::string> exclude;
  for (const char* name : {"from", "to", "return-path", "reply-to"})
    if (const std::string* v = find_header(root.headers, name))
      for (auto& a : addresses_in_header(*v)) exclude.push_back(a);
  for (const char* name : {"from", "return-path", "sender"})
    if (const std::string* v = find_header(returned, name))
      for (auto& a : addresses_in_header(*v)) exclude.push_back(a);

  std::vector<TextRecipient> mentions = text_recipients(lines, cut, exclude);
  {
    // DSN recipients that are no mailbox (a file, a pipe, a bare local part) borrow an
    // address from X-Failed-Recipients or the text when one is left unused.
    std::vector<std::string> alt;
    if (const std::string* xf = find_header(root.headers, "x-failed-recipients"))
      alt = addresses_in_header(*xf);
    for (const auto& m : mentions) alt.push_back(m.addr);
    for (auto& r : rcpts) {
      if (is_mailbox(r.recipient)) continue;
      for (const auto& a : alt) {
        bool used = false;
        for (const auto& o : rcpts) used = used || ieq(o.recipient, a);
        if (!used) {
          r.recipient = a;
          break;
        }
      }
    }
  }
  if (rcpts.empty()) {
    // X-Failed-Recipients names them outright; otherwise take them from the text.
    if (const std::string* xf = find_header(root.headers, "x-failed-recipients")) {
      for (auto& a : addresses_in_header(*xf)) {
        FailedRecipient r;
        r.recipient = std::move(a);
        rcpts.push_back(std::move(r));
      }
    }
    if (rcpts.empty())
      for (const auto& m : mentions) {
        FailedRecipient r;
        r.recipient = m.addr;
        rcpts.push_back(std::move(r));
      }
    // The returned original's To: is never taken as the bounced recipient: it names whom the
    // message was written to (a list, a Bcc'd copy, an alias), not whom the bounce is about.
    (void)returned;
  }
  // Recipient-less reports: a VERP return address still says who it was for.
  bool missing = rcpts.empty();
  for (const auto& r : rcpts) missing = missing || r.recipient.empty();
  if (missing) {
    std::string verp = verp_from_headers(root.headers);
    if (!verp.empty()) {
      if (rcpts.empty()) rcpts.emplace_back();
      for (auto& r : rcpts)
        if (r.recipient.empty()) r.recipient = verp;
    }
  }
  rcpts.erase(std::remove_if(rcpts.begin(), rcpts.end(),
                             [](const FailedRecipient& r) { return r.recipient.empty(); }),
              rcpts.end());
  annotate_from_text(rcpts, mentions, lines, cut);
  dedupe(rcpts);
  out.recipients = std::move(rcpts);
  if (out.recipients.empty()) out.reason = "bounce without identifiable recipient";
  return out;
}

}  // namespace

const char* to_string(FeedbackKind kind) {
  switch (kind) {
    case FeedbackKind::not_a_message:
      return "not_a_message";
    case FeedbackKind::ignored:
      return "ignored";
    case FeedbackKind::dsn:
      return "dsn";
    case FeedbackKind::arf:
      return "arf";
    case FeedbackKind::nonstandard_bounce:
      return "nonstandard_bounce";
  }
  return "unknown";
}

std::optional<std::string> decode_verp(std::string_view addr) {
  addr = trim(addr);
  if (!addr.empty() && addr.front() == '<') addr.remove_prefix(1);
  if (!addr.empty() && addr.back() == '>') addr.remove_suffix(1);
  std::size_t at = addr.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= addr.size()) return std::nullopt;
  std::string_view local = addr.substr(0, at);
  std::size_t eq = local.rfind('=');
  if (eq == std::string_view::npos) return std::nullopt;
  // The tag separator is '+' (sub-addressing) or, failing that, the last '-' before '='.
  std::size_t sep = local.find('+');
  if (sep == std::string_view::npos || sep > eq) sep = local.substr(0, eq).rfind('-');
  if (sep == std::string_view::npos || sep == 0 || sep + 1 >= eq) return std::nullopt;
  std::string_view user = local.substr(sep + 1, eq - sep - 1);
  std::string_view domain = local.substr(eq + 1);
  if (user.empty() || domain.empty() || domain.find('.') == std::string_view::npos ||
      domain.front() == '.' || domain.back() == '.')
    return std::nullopt;
  for (char c : user)
    if (!is_local_char(c)) return std::nullopt;
  for (char c : domain)
    if (!is_domain_char(c)) return std::nullopt;
  std::string out(user);
  out.push_back('@');
  out.append(lower(domain));
  return out;
}

ParsedFeedback parse_feedback(std::string_view raw_message) {
  try {
    return parse_impl(raw_message);
  } catch (...) {
    // Only allocation failure can get here; report rather than propagate into callers.
    ParsedFeedback out;
    out.kind = FeedbackKind::not_a_message;
    out.reason = "parser error";
    return out;
  }
}

}  // namespace bouncegate
