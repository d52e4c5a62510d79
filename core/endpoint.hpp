// Listen addresses as the configuration writes them ("127.0.0.1:10025", "[::1]:10025"): one
// parser, used by config validation (so check-config refuses what a daemon would) and by every
// listener (relay, web, metrics).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bouncegate {

struct Endpoint {
  std::string host;  // a numeric IPv4 or IPv6 address, without brackets
  uint16_t port = 0;
  bool ipv6 = false;
  bool loopback = false;
};

// Nullopt with `why` for anything but IP:PORT / [IPv6]:PORT with a port in 1..65535 (0 too
// with `any_port`: the kernel picks one, for tests).
std::optional<Endpoint> parse_endpoint(std::string_view text, std::string* why,
                                       bool any_port = false);

}  // namespace bouncegate
