// DSN fields (RFC 3464/5965): addresses, status and reply codes, and per-recipient field
// groups of delivery-status and feedback-report parts.
#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "core/dsn_detail.hpp"

namespace bouncegate::dsn_detail {

// ---------------------------------------------------------------------------------------------
// Addresses and status codes

bool is_local_char(char c) {
  return is_alnum(c) || std::string_view("!#$%&'*+/=?^_`{|}~.-").find(c) != std::string_view::npos;
}
bool is_domain_char(char c) {
  return is_alnum(c) || c == '.' || c == '-' || c == '_';
}

std::string lower_domain(std::string_view addr) {
  std::string out(addr);
  std::size_t at = out.rfind('@');
  if (at != std::string::npos)
    for (std::size_t i = at + 1; i < out.size(); ++i) out[i] = lc(out[i]);
  return out;
}

// Finds bare addresses (local@domain.tld) in free text, left to right.
std::string decode_imcea_smtp(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '+' && i + 2 < v.size() && hex_value(v[i + 1]) >= 0 && hex_value(v[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(v[i + 1]) * 16 + hex_value(v[i + 2]));
      i += 2;
    } else {
      out += v[i];
    }
  }
  std::size_t at = out.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == out.size()) return "";
  return lower_domain(out);
}

std::vector<AddrHit> find_addresses(std::string_view s, std::size_t limit) {
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
      std::string addr = lower_domain(s.substr(b, e - b));
      // Exchange encapsulates non-SMTP addresses as IMCEA<type>-<encoded>@<org domain>: an
      // IMCEAEX one (an X.500 legacyExchangeDN) names no mailbox anyone can mail; IMCEASMTP
      // wraps an SMTP address with '+HH' escapes ('+40' is '@').
      std::string_view local = std::string_view(addr).substr(0, at - b);
      if (istarts(local, "imceasmtp-")) addr = decode_imcea_smtp(local.substr(10));
      if (!istarts(local, "imceaex-") && !addr.empty()) hits.push_back({b, e - b, addr});
      from = e;
    } else {
      from = at + 1;
    }
  }
  return hits;
}

// Normalises a recipient field value: drops an address-type prefix ("rfc822;"), angle
// brackets, quotes and any display name; lower-cases the domain.
// RFC 6533 3: a "utf-8" address type writes non-ASCII and special characters as \x{HEX}
// (a Unicode code point); the mailbox is the decoded UTF-8.
std::string decode_utf8_address(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::size_t close = v.find('}', i);
    if (v.compare(i, 3, "\\x{") == 0 && close != std::string_view::npos && close - i <= 9) {
      uint32_t cp = 0;
      bool ok = close > i + 3;
      for (std::size_t k = i + 3; k < close && ok; ++k) {
        int h = hex_value(v[k]);
        ok = h >= 0;
        cp = cp * 16 + static_cast<uint32_t>(h < 0 ? 0 : h);
      }
      if (ok && cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else if (cp < 0x800) {
          out += static_cast<char>(0xC0 | (cp >> 6));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          out += static_cast<char>(0xE0 | (cp >> 12));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          out += static_cast<char>(0xF0 | (cp >> 18));
          out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        }
        i = close;
        continue;
      }
    }
    out += v[i];
  }
  return out;
}

// RFC 2047 encoded-words ("=?utf-8?B?...?=") that some MTAs write into the addresses of their
// human-readable text: decoded to their bytes.
std::string decode_encoded_words(std::string_view v) {
  std::string out;
  std::size_t i = 0;
  while (i < v.size()) {
    std::size_t start = v.find("=?", i);
    if (start == std::string_view::npos) break;
    std::size_t q1 = v.find('?', start + 2);
    std::size_t q2 = q1 == std::string_view::npos ? q1 : v.find('?', q1 + 1);
    std::size_t end = q2 == std::string_view::npos ? q2 : v.find("?=", q2 + 1);
    if (end == std::string_view::npos || q2 != q1 + 2) break;
    char enc = static_cast<char>(lc(v[q1 + 1]));
    std::string_view text = v.substr(q2 + 1, end - q2 - 1);
    out.append(v.substr(i, start - i));
    if (enc == 'b') {
      out += decode_base64(text);
    } else if (enc == 'q') {
      std::string t(text);
      for (auto& c : t)
        if (c == '_') c = ' ';
      out += decode_quoted_printable(t);
    } else {
      out.append(v.substr(start, end + 2 - start));
    }
    i = end + 2;
  }
  out.append(v.substr(std::min(i, v.size())));
  return out;
}

std::string clean_address(std::string_view v) {
  v = trim(v);
  std::string decoded;
  std::size_t semi = v.find(';');
  if (semi != std::string_view::npos && semi < 20) {
    std::string_view type = trim(v.substr(0, semi));
    bool token = !type.empty();
    for (char c : type)
      if (!is_alnum(c) && c != '-') token = false;
    if (token) {
      v = trim(v.substr(semi + 1));
      if (ieq(type, "utf-8")) {
        decoded = decode_utf8_address(v);
        v = decoded;
      }
    }
  }
  std::string words;
  if (v.find("=?") != std::string_view::npos) {
    words = decode_encoded_words(v);
    v = words;
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
std::string find_status(std::string_view s, std::string_view classes) {
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

}  // namespace bouncegate::dsn_detail
