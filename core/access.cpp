// relay.allow matching: addresses compared as 16 bytes, IPv4 mapped into IPv6.
#include "core/access.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>

namespace bouncegate {
namespace {

std::optional<std::array<unsigned char, 16>> parse_ip(const std::string& ip, bool* v4) {
  std::array<unsigned char, 16> out{};
  in_addr a4;
  if (inet_pton(AF_INET, ip.c_str(), &a4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &a4, 4);
    if (v4) *v4 = true;
    return out;
  }
  if (inet_pton(AF_INET6, ip.c_str(), out.data()) == 1) {
    if (v4) *v4 = false;
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Network> parse_network(const std::string& cidr) {
  size_t slash = cidr.find('/');
  bool v4 = false;
  auto ip = parse_ip(cidr.substr(0, slash), &v4);
  if (!ip) return std::nullopt;
  Network n;
  n.addr = *ip;
  int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string::npos) {
    std::string p = cidr.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    prefix = std::stoi(p);
    if (prefix > max) return std::nullopt;
  }
  n.prefix = v4 ? prefix + 96 : prefix;
  return n;
}

AccessList::AccessList(const std::vector<std::string>& cidrs) {
  for (const auto& c : cidrs) {
    auto n = parse_network(c);
    if (!n) throw std::invalid_argument("relay.allow: '" + c + "' is not an address or network");
    nets_.push_back(*n);
  }
}

bool AccessList::allows(const std::string& ip) const {
  auto a = parse_ip(ip, nullptr);
  if (!a) return false;
  for (const auto& n : nets_) {
    int bits = n.prefix;
    bool match = true;
    for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
      unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
      if ((n.addr[i] & mask) != ((*a)[i] & mask)) {
        match = false;
        break;
      }
    }
    if (match) return true;
  }
  return false;
}

}  // namespace bouncegate
