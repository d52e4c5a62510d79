// EHLO keyword reading (RFC 5321 4.1.1.1; SIZE: RFC 1870).
#include "relay/capabilities.hpp"

#include <cstdlib>

#include "relay/smtp_command.hpp"

namespace bouncegate {

std::string ehlo_line(const Reply& r, const std::string& kw) {
  for (size_t i = 1; i < r.lines.size(); ++i) {
    std::string l = ascii_upper(r.lines[i]);
    if (l == kw || l.rfind(kw + " ", 0) == 0 || l.rfind(kw + "=", 0) == 0) return l;
  }
  return "";
}

UpstreamCapabilities capabilities_from_ehlo(const Reply& r) {
  UpstreamCapabilities c;
  c.known = true;
  c.pipelining = !ehlo_line(r, "PIPELINING").empty();
  c.eightbitmime = !ehlo_line(r, "8BITMIME").empty();
  c.smtputf8 = !ehlo_line(r, "SMTPUTF8").empty();
  c.dsn = !ehlo_line(r, "DSN").empty();
  std::string size = ehlo_line(r, "SIZE");
  c.size = !size.empty();
  if (size.size() > 5) c.size_limit = std::strtoull(size.c_str() + 5, nullptr, 10);
  return c;
}

}  // namespace bouncegate
