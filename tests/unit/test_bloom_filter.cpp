// BloomFilter: never a false negative, false positives near the configured rate, and the
// size the arithmetic promises (about 1.2 MB per million members at 1%).
#include <gtest/gtest.h>

#include <string>

#include "core/bloom_filter.hpp"

namespace bouncegate {
namespace {

TEST(BloomFilter, NoFalseNegativesAndFalsePositivesNearTheRate) {
  BloomFilter f(100000, 0.01);
  for (int i = 0; i < 100000; ++i) f.add("user" + std::to_string(i) + "@example.com");
  for (int i = 0; i < 100000; ++i)
    ASSERT_TRUE(f.may_contain("user" + std::to_string(i) + "@example.com")) << i;
  int fp = 0;
  for (int i = 0; i < 100000; ++i)
    fp += f.may_contain("other" + std::to_string(i) + "@example.net");
  EXPECT_LT(fp, 2000) << "false positive rate above 2% at a 1% target";
  EXPECT_GT(fp, 100) << "implausibly few false positives: is the filter answering at all?";
  EXPECT_EQ(f.hashes(), 7);
}

TEST(BloomFilter, SizePerMillionMembers) {
  BloomFilter one(1000000, 0.01), tenth(1000000, 0.001);
  EXPECT_NEAR(static_cast<double>(one.bytes()) / 1e6, 1.198, 0.01);  // 9.59 bits each
  EXPECT_NEAR(static_cast<double>(tenth.bytes()) / 1e6, 1.797, 0.01);
  BloomFilter empty(0, 0.01);
  EXPECT_FALSE(empty.may_contain("a@b"));
  EXPECT_THROW(BloomFilter(10, 0.0), std::invalid_argument);
  EXPECT_THROW(BloomFilter(10, 1.0), std::invalid_argument);
}

}  // namespace
}  // namespace bouncegate
