// Mailbox address normalisation (RFC 5321 mailbox, RFC 5890 IDN A-labels via RFC 3492).
#include "core/address.hpp"

#include <algorithm>

namespace bouncegate {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

// Decodes UTF-8; nullopt on malformed sequences.
std::optional<std::u32string> utf8_decode(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    char32_t cp;
    int extra;
    if (c < 0x80) {
      cp = c;
      extra = 0;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      extra = 2;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      extra = 3;
    } else {
      return std::nullopt;
    }
    if (i + extra >= s.size() && extra > 0) return std::nullopt;
    for (int k = 1; k <= extra; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Simple lower-casing for Latin-1 supplement and basic Latin capitals.
    if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)) cp += 0x20;
    out.push_back(cp);
    i += extra + 1;
  }
  return out;
}

std::optional<std::string> domain_to_ascii(std::string_view domain) {
  bool ascii = std::all_of(domain.begin(), domain.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return ascii_lower(domain);
  std::string out;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
    auto cps = utf8_decode(label);
    if (!cps) return std::nullopt;
    bool label_ascii = std::all_of(cps->begin(), cps->end(), [](char32_t c) { return c < 0x80; });
    if (!out.empty() || start > 0) out += '.';
    if (label_ascii) {
      out += ascii_lower(label);
    } else {
      auto p = punycode_encode(*cps);
      if (!p) return std::nullopt;
      out += "xn--" + *p;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

}  // namespace

std::optional<std::string> punycode_encode(const std::u32string& input) {
  constexpr uint32_t base = 36, tmin = 1, tmax = 26, skew = 38, damp = 700;
  auto adapt = [&](uint32_t delta, uint32_t numpoints, bool first) {
    delta = first ? delta / damp : delta / 2;
    delta += delta / numpoints;
    uint32_t k = 0;
    while (delta > ((base - tmin) * tmax) / 2) {
      delta /= base - tmin;
      k += base;
    }
    return k + (base - tmin + 1) * delta / (delta + skew);
  };
  auto digit = [](uint32_t d) { return static_cast<char>(d < 26 ? 'a' + d : '0' + d - 26); };
  std::string out;
  for (char32_t c : input)
    if (c < 0x80) out += static_cast<char>(c);
  uint32_t b = static_cast<uint32_t>(out.size()), h = b;
  if (b > 0) out += '-';
  uint32_t n = 128, delta = 0, bias = 72;
  while (h < input.size()) {
    uint32_t m = UINT32_MAX;
    for (char32_t c : input)
      if (c >= n && c < m) m = c;
    if ((m - n) > (UINT32_MAX - delta) / (h + 1)) return std::nullopt;
    delta += (m - n) * (h + 1);
    n = m;
    for (char32_t c : input) {
      if (c < n && ++delta == 0) return std::nullopt;
      if (c == n) {
        uint32_t q = delta;
        for (uint32_t k = base;; k += base) {
          uint32_t t = k <= bias ? tmin : (k >= bias + tmax ? tmax : k - bias);
          if (q < t) break;
          out += digit(t + (q - t) % (base - t));
          q = (q - t) / (base - t);
        }
        out += digit(q);
        bias = adapt(delta, h + 1, h == b);
        delta = 0;
        ++h;
      }
    }
    ++delta;
    ++n;
  }
  return out;
}

std::string domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  return ascii_lower(address.substr(at + 1));
}

std::optional<NormalizedAddress> normalize_address(std::string_view raw, std::string* why) {
  auto fail = [&](const char* w) -> std::optional<NormalizedAddress> {
    if (why) *why = w;
    return std::nullopt;
  };
  std::string_view s = raw;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  // Source route "@a,@b:user@host" (RFC 5321 4.1.2) is obsolete; keep only the mailbox.
  if (!s.empty() && s.front() == '@') {
    size_t colon = s.find(':');
    if (colon == std::string_view::npos) return fail("source route without mailbox");
    s.remove_prefix(colon + 1);
  }
  if (s.empty()) return fail("empty address");
  if (s.size() > 254) return fail("address longer than 254 octets");
  for (char c : s) {
    unsigned char u = c;
    if (u < 0x20 || u == 0x7f) return fail("control character in address");
  }
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0) return fail("address has no local part or no '@'");
  if (at + 1 >= s.size()) return fail("address has no domain");
  std::string_view local = s.substr(0, at);
  std::string_view domain = s.substr(at + 1);
  if (domain.front() == '[') {
    if (domain.back() != ']') return fail("malformed address literal");
  } else {
    for (char c : domain)
      if (c == ' ' || c == '@' || c == ',' || c == '<' || c == '>' || c == '"')
        return fail("invalid character in domain");
    if (domain.front() == '.' || domain.back() == '.' ||
        domain.find("..") != std::string_view::npos)
      return fail("empty domain label");
  }
  bool quoted = local.size() >= 2 && local.front() == '"' && local.back() == '"';
  if (!quoted)
    for (char c : local)
      if (c == ' ' || c == '<' || c == '>' || c == '"' || c == ',' || c == '(' || c == ')')
        return fail("invalid character in local part");
  std::string local_norm;
  if (quoted) {
    // A quoted local part that needs no quoting is the same mailbox as the unquoted form.
    std::string inner;
    bool needs = false;
    for (size_t i = 1; i + 1 < local.size(); ++i) {
      char c = local[i];
      if (c == '\\' && i + 2 < local.size()) c = local[++i];
      if (c == ' ' || c == '"' || c == '\\' || c == '@' || c == ',' || c == '<' || c == '>' ||
          c == '(' || c == ')' || c == ':' || c == ';' || c == '[' || c == ']')
        needs = true;
      inner += lower(c);
    }
    local_norm = needs ? "\"" + inner + "\"" : inner;
  } else {
    local_norm = ascii_lower(local);
  }
  auto dom = domain_to_ascii(domain);
  if (!dom) return fail("domain is not valid UTF-8");
  NormalizedAddress out;
  out.local = local_norm;
  out.domain = *dom;
  out.address = out.local + "@" + out.domain;
  if (out.address.size() > 254) return fail("address longer than 254 octets");
  return out;
}

}  // namespace bouncegate
