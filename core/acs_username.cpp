// ACS SMTP username checks (the two documented forms).
#include "core/acs_username.hpp"

#include <cctype>
#include <vector>

namespace bouncegate {

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return o;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t at; (at = s.find(sep)) != std::string_view::npos; s.remove_prefix(at + 1))
    out.push_back(s.substr(0, at));
  out.push_back(s);
  return out;
}

}  // namespace

bool is_guid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool is_acs_host(std::string_view host) {
  std::string h = lower(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  const std::string_view suffix = ".azurecomm.net";
  return h.size() > suffix.size() &&
         h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::optional<std::string> acs_username_problem(std::string_view u) {
  if (u.empty()) return "empty: ACS accepts mail only after SMTP AUTH";
  for (char c : u)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return "contains white space or a control character";
  // The three-part form: "<resource>.<application id>.<tenant id>" or with '|'.
  const char sep = u.find('|') != std::string_view::npos ? '|' : '.';
  auto parts = split(u, sep);
  const bool three_part =
      sep == '|' || (parts.size() >= 3 && parts[parts.size() - 1].size() == 36 &&
                     parts[parts.size() - 2].size() == 36);
  if (three_part) {
    if (parts.size() != 3 || parts[0].empty())
      return "expected <ACS resource name>" + std::string(1, sep) + "<Entra application id>" +
             std::string(1, sep) + "<Entra tenant id>";
    if (!is_guid(parts[1])) return "the Entra application id is not a GUID";
    if (!is_guid(parts[2])) return "the Entra tenant id is not a GUID";
    return std::nullopt;
  }
  // An SMTP Username resource: free form, or an address (then with a local part and domain).
  if (size_t at = u.find('@'); at != std::string_view::npos)
    if (at == 0 || at + 1 >= u.size() || u.find('@', at + 1) != std::string_view::npos)
      return "not an email address (one '@' between a local part and a domain)";
  return std::nullopt;
}

}  // namespace bouncegate
