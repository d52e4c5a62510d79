// Who may use the relay: relay.allow as CIDR networks (IPv4 and IPv6). Pure, no I/O.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace bouncegate {

struct Network {
  std::array<unsigned char, 16> addr{};  // IPv4 stored as IPv4-mapped IPv6
  int prefix = 128;
};

// "127.0.0.0/8", "::1/128", "192.0.2.7" (a host); nullopt when malformed.
std::optional<Network> parse_network(const std::string& cidr);

class AccessList {
 public:
  // Throws std::invalid_argument naming the bad entry.
  explicit AccessList(const std::vector<std::string>& cidrs);
  // `ip` in text form ("127.0.0.1", "::ffff:127.0.0.1", "::1").
  bool allows(const std::string& ip) const;

 private:
  std::vector<Network> nets_;
};

}  // namespace bouncegate
