// Mailbox address canonicalisation (RFC 5321/5322 mailbox, UTS #46 + IDNA2008 via libidn2):
// the address as the MTA will deliver it, in one form.
#include "core/address.hpp"

#include <idn2.h>

#include <algorithm>
#include <vector>

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

// UTS #46 mapping (case folding of every script, width and compatibility forms) and IDNA2008
// A-labels, by libidn2: the form a resolver looks up, so one mailbox has one key.
std::optional<std::string> domain_to_ascii(std::string_view domain) {
  bool ascii = std::all_of(domain.begin(), domain.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return ascii_lower(domain);
  std::string in(domain);
  for (int flags : {IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL, IDN2_NFC_INPUT | IDN2_TRANSITIONAL}) {
    char* out = nullptr;
    if (idn2_to_ascii_8z(in.c_str(), &out, flags) == IDN2_OK && out) {
      std::string r = ascii_lower(out);
      idn2_free(out);
      return r;
    }
    idn2_free(out);
  }
  return std::nullopt;
}

bool is_special(char c) {  // RFC 5322 3.2.3 specials, and space
  return std::string_view("()<>[]:;@\\,.\" ").find(c) != std::string_view::npos;
}

// One character of the address after comments and folding white space are taken out.
struct Lexeme {
  char c;
  bool quoted;  // inside a quoted string (escapes resolved)
};

// RFC 5322 3.2.2/3.4.1: comments and white space around the parts of an address are not part
// of the mailbox ("victim(x)@example.net", "victim @example.net" are victim@example.net, as
// the MTA delivers them). Between two atom characters their meaning is unclear: refused.
std::optional<std::vector<Lexeme>> lex_address(std::string_view s, std::string* why) {
  std::vector<Lexeme> out;
  bool in_quote = false, gap = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_quote) {
      if (c == '\\' && i + 1 < s.size()) {
        out.push_back({s[++i], true});
      } else if (c == '"') {
        in_quote = false;
      } else {
        out.push_back({c, true});
      }
      continue;
    }
    if (c == ' ' || c == '\t') {
      gap = true;
      continue;
    }
    if (c == '(') {
      int depth = 1;
      while (++i < s.size() && depth > 0) {
        if (s[i] == '\\')
          ++i;
        else if (s[i] == '(')
          ++depth;
        else if (s[i] == ')')
          --depth;
      }
      if (depth > 0) return *why = "unterminated comment in address", std::nullopt;
      --i;
      gap = true;
      continue;
    }
    if (c == '"') {
      in_quote = true;
      if (gap && !out.empty() && !out.back().quoted && !is_special(out.back().c))
        return *why = "white space or comment inside the local part", std::nullopt;
      gap = false;
      continue;
    }
    if (gap && !out.empty() && !is_special(c) && !is_special(out.back().c))
      return *why = "white space or comment inside the address", std::nullopt;
    gap = false;
    out.push_back({c, false});
  }
  if (in_quote) return *why = "unterminated quoted string in address", std::nullopt;
  return out;
}

}  // namespace

std::string domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  return ascii_lower(address.substr(at + 1));
}

std::optional<NormalizedAddress> normalize_address(std::string_view raw, std::string* why) {
  std::string ignored;
  if (!why) why = &ignored;
  auto fail = [&](const char* w) -> std::optional<NormalizedAddress> {
    *why = w;
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
  if (s.size() > 512) return fail("address longer than 254 octets");
  for (char c : s) {
    unsigned char u = c;
    if (u < 0x20 || u == 0x7f) return fail("control character in address");
  }
  auto lex = lex_address(s, why);
  if (!lex) return std::nullopt;
  size_t at = std::string::npos;
  for (size_t i = 0; i < lex->size(); ++i)
    if ((*lex)[i].c == '@' && !(*lex)[i].quoted) at = i;
  if (at == std::string::npos || at == 0) return fail("address has no local part or no '@'");
  std::string local, domain;
  bool needs_quotes = false;
  for (size_t i = 0; i < at; ++i) {
    const Lexeme& l = (*lex)[i];
    if (!l.quoted && l.c != '.' && is_special(l.c)) return fail("invalid character in local part");
    // A quoted local part that needs no quoting is the same mailbox as the unquoted form.
    if (l.quoted && l.c != '.' && is_special(l.c)) needs_quotes = true;
    if (l.quoted && (l.c == '"' || l.c == '\\')) needs_quotes = true;
    local += lower(l.c);
  }
  if (local.empty()) return fail("address has no local part or no '@'");
  // "*@domain" names a domain entry in the store: a recipient spelled so must never reach one
  // (a learned bounce would suppress the whole domain, a gate hit would step its lease).
  if (local == "*") return fail("local part '*' is reserved for domain entries");
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string::npos)
    needs_quotes = needs_quotes || std::any_of(lex->begin(), lex->begin() + static_cast<long>(at),
                                               [](const Lexeme& l) { return l.quoted; });
  for (size_t i = at + 1; i < lex->size(); ++i) {
    if ((*lex)[i].quoted) return fail("quoted string in domain");
    domain += (*lex)[i].c;
  }
  if (domain.empty()) return fail("address has no domain");
  if (domain.front() == '[') {
    if (domain.back() != ']') return fail("malformed address literal");
  } else {
    // RFC 1034 3.1: "example.net." is the same, absolute, name; the MTA delivers it there.
    if (domain.size() > 1 && domain.back() == '.') domain.pop_back();
    for (char c : domain)
      if (c != '.' && c != '-' && is_special(c)) return fail("invalid character in domain");
    if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string::npos)
      return fail("empty domain label");
  }
  std::string local_norm = local;
  if (needs_quotes) {
    local_norm = "\"";
    for (char c : local) {
      if (c == '"' || c == '\\') local_norm += '\\';
      local_norm += c;
    }
    local_norm += '"';
  }
  auto dom = domain.front() == '[' ? std::optional<std::string>(ascii_lower(domain))
                                   : domain_to_ascii(domain);
  if (!dom) return fail("domain is not a valid internationalised domain name");
  // UTS #46 maps the ideographic and full-width full stops (U+3002, U+FF0E, U+FF61) to '.':
  // the mapped name gets the same trailing-dot and empty-label treatment as an ASCII one.
  if (dom->size() > 1 && dom->back() == '.' && dom->front() != '[') dom->pop_back();
  if (dom->empty() || dom->front() == '.' || dom->back() == '.' ||
      dom->find("..") != std::string::npos)
    return fail("empty domain label");
  NormalizedAddress out;
  out.local = local_norm;
  out.domain = *dom;
  out.address = out.local + "@" + out.domain;
  if (out.address.size() > 254) return fail("address longer than 254 octets");
  return out;
}

}  // namespace bouncegate

namespace bouncegate {

std::optional<NormalizedAddress> normalize_entry_address(std::string_view raw, std::string* why) {
  std::string ignored;
  if (!why) why = &ignored;
  if (raw.size() < 2 || raw.substr(0, 2) != "*@") return normalize_address(raw, why);
  // The domain goes through the same mapping as a mailbox's (case, IDN, trailing dot).
  auto a = normalize_address("x" + std::string(raw.substr(1)), why);  // "x@domain"
  if (!a) return std::nullopt;
  if (a->domain.find('.') == std::string::npos) {
    *why = "a domain entry needs a domain of two labels or more";
    return std::nullopt;
  }
  a->local = "*";
  a->address = "*@" + a->domain;
  return a;
}

bool is_domain_entry(std::string_view address) {
  return address.size() > 2 && address.substr(0, 2) == "*@";
}

std::vector<std::string> domain_entries_for(std::string_view domain, size_t max_parents) {
  std::vector<std::string> out;
  if (domain.empty()) return out;
  out.push_back("*@" + std::string(domain));
  for (size_t dot = domain.find('.'); dot != std::string_view::npos && out.size() <= max_parents;
       dot = domain.find('.', dot + 1)) {
    std::string_view parent = domain.substr(dot + 1);
    if (parent.find('.') == std::string_view::npos) break;  // a top-level domain: never
    out.push_back("*@" + std::string(parent));
  }
  return out;
}

}  // namespace bouncegate
