// IP:PORT parsing with inet_pton: numeric addresses only, so no listener depends on DNS.
#include "core/endpoint.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace bouncegate {

std::optional<Endpoint> parse_endpoint(std::string_view text, std::string* why, bool any_port) {
  auto fail = [&](const std::string& w) -> std::optional<Endpoint> {
    if (why) *why = w;
    return std::nullopt;
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return fail("expected IP:PORT or [IPv6]:PORT");
  std::string host(text.substr(0, colon));
  std::string_view port = text.substr(colon + 1);
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return fail("bad port '" + std::string(port) + "'");
  unsigned long p = std::stoul(std::string(port));
  if ((p == 0 && !any_port) || p > 65535)
    return fail("port " + std::string(port) + " out of range 1-65535");
  Endpoint e;
  e.port = static_cast<uint16_t>(p);
  e.host = host;
  unsigned char buf[16];
  if (!bracketed && inet_pton(AF_INET, host.c_str(), buf) == 1) {
    e.loopback = buf[0] == 127;
    return e;
  }
  if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    if (!bracketed) return fail("an IPv6 address is written in brackets: [" + host + "]:PORT");
    e.ipv6 = true;
    static const unsigned char kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    e.loopback = std::memcmp(buf, kLoop, 16) == 0;
    return e;
  }
  return fail("'" + host + "' is not a numeric IP address");
}

}  // namespace bouncegate
