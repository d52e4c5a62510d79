// Remaining-lease display: two most significant units, rounded up to the smaller one.
#include "core/lease_text.hpp"

namespace bouncegate {

std::string lease_text(int64_t ttl_ms) {
  if (ttl_ms < 0) return "permanent";
  int64_t s = (ttl_ms + 999) / 1000;
  if (s == 0) return "0s";
  struct Unit {
    int64_t seconds;
    const char* name;
  };
  // Days only from a week: 96h is a ladder step and reads as one.
  const Unit units[] = {{86'400, "d"}, {3'600, "h"}, {60, "m"}, {1, "s"}};
  size_t first = s >= 7 * 86'400 ? 0 : s >= 3'600 ? 1 : s >= 60 ? 2 : 3;
  const Unit& big = units[first];
  if (first == 3) return std::to_string(s) + "s";
  const Unit& small = units[first + 1];
  // Round up to whole small units, then split.
  int64_t n_small = (s + small.seconds - 1) / small.seconds;
  int64_t per = big.seconds / small.seconds;
  int64_t b = n_small / per, r = n_small % per;
  std::string out = std::to_string(b) + big.name;
  if (r) out += std::to_string(r) + small.name;
  return out;
}

}  // namespace bouncegate
