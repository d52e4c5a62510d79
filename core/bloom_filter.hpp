// A Bloom filter of strings whose bits are atomic words: one thread may add while others ask.
// Pure: no I/O. The hash is keyed per process, so nobody can craft addresses offline that
// collide in every process (a collision only costs the Redis round trip the filter saves).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace bouncegate {

class BloomFilter {
 public:
  // Sized for `expected` members at `false_positive_rate` (0 < rate < 1).
  BloomFilter(size_t expected, double false_positive_rate);
  void add(std::string_view s);
  // False: `s` was never added. True: it may have been.
  bool may_contain(std::string_view s) const;
  size_t bytes() const { return words_count_ * sizeof(uint64_t); }
  int hashes() const { return k_; }
  size_t bits() const { return bits_; }

 private:
  uint64_t hash(std::string_view s, uint64_t seed) const;
  size_t bits_ = 0;
  size_t words_count_ = 0;
  int k_ = 1;
  uint64_t seed_a_ = 0, seed_b_ = 0;
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
};

}  // namespace bouncegate
