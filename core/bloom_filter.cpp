// Bloom filter arithmetic: m = -n ln p / (ln 2)^2 bits, k = m/n ln 2 hashes, double hashing.
#include "core/bloom_filter.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace bouncegate {

namespace {

uint64_t mix(uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t process_seed() {
  static const uint64_t seed = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  return seed;
}

}  // namespace

BloomFilter::BloomFilter(size_t expected, double rate) {
  if (!(rate > 0.0 && rate < 1.0)) throw std::invalid_argument("false positive rate not in (0,1)");
  const double n = static_cast<double>(std::max<size_t>(expected, 1));
  const double ln2 = std::log(2.0);
  bits_ = static_cast<size_t>(std::ceil(-n * std::log(rate) / (ln2 * ln2)));
  bits_ = std::max<size_t>(bits_, 64);
  k_ = std::clamp(static_cast<int>(std::lround(static_cast<double>(bits_) / n * ln2)), 1, 16);
  words_count_ = (bits_ + 63) / 64;
  bits_ = words_count_ * 64;
  words_ = std::make_unique<std::atomic<uint64_t>[]>(words_count_);
  for (size_t i = 0; i < words_count_; ++i) words_[i].store(0, std::memory_order_relaxed);
  seed_a_ = mix(process_seed());
  seed_b_ = mix(seed_a_ ^ 0x9e3779b97f4a7c15ULL);
}

uint64_t BloomFilter::hash(std::string_view s, uint64_t seed) const {
  uint64_t h = seed ^ (s.size() * 0x9e3779b97f4a7c15ULL);
  for (unsigned char c : s) h = mix(h ^ c);  // byte at a time: addresses are short
  return mix(h);
}

void BloomFilter::add(std::string_view s) {
  const uint64_t a = hash(s, seed_a_), b = hash(s, seed_b_) | 1;
  for (int i = 0; i < k_; ++i) {
    const uint64_t bit = (a + static_cast<uint64_t>(i) * b) % bits_;
    words_[bit / 64].fetch_or(uint64_t{1} << (bit % 64), std::memory_order_relaxed);
  }
}

bool BloomFilter::may_contain(std::string_view s) const {
  const uint64_t a = hash(s, seed_a_), b = hash(s, seed_b_) | 1;
  for (int i = 0; i < k_; ++i) {
    const uint64_t bit = (a + static_cast<uint64_t>(i) * b) % bits_;
    if (!(words_[bit / 64].load(std::memory_order_relaxed) & (uint64_t{1} << (bit % 64))))
      return false;
  }
  return true;
}

}  // namespace bouncegate
