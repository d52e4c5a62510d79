// Accept failure policy and the descriptor budget check-config warns about.
#include <gtest/gtest.h>

#include <cerrno>

#include "core/accept_backoff.hpp"
#include "core/descriptor_budget.hpp"

namespace bouncegate {
namespace {

TEST(AcceptBackoff, ExhaustionWaitsLongerEachTimeAndLogsOncePerBurst) {
  AcceptBackoff b;
  auto t = AcceptBackoff::Clock::now();
  auto s1 = b.failed(EMFILE, t);
  EXPECT_TRUE(s1.log);
  EXPECT_EQ(s1.wait, AcceptBackoff::kFirstWait);
  std::chrono::milliseconds last = s1.wait;
  int logged = 1;
  for (int i = 0; i < 1000; ++i) {
    auto s = b.failed(ENFILE, t + std::chrono::milliseconds(i));
    EXPECT_GE(s.wait, last);
    EXPECT_LE(s.wait, AcceptBackoff::kMaxWait);
    last = s.wait;
    logged += s.log;
  }
  EXPECT_EQ(last, AcceptBackoff::kMaxWait);
  EXPECT_EQ(logged, 1);
  // A minute on, the still-running burst is logged again, with its count.
  auto later = b.failed(EMFILE, t + AcceptBackoff::kLogEvery);
  EXPECT_TRUE(later.log);
  EXPECT_EQ(later.failures, 1002u);
  EXPECT_EQ(b.succeeded(), 1002u);
  EXPECT_EQ(b.succeeded(), 0u);
  EXPECT_EQ(b.failed(EMFILE, t).wait, AcceptBackoff::kFirstWait);  // a new burst starts small
}

TEST(AcceptBackoff, AbortedConnectionIsRetriedAtOnce) {
  AcceptBackoff b;
  EXPECT_EQ(b.failed(ECONNABORTED, AcceptBackoff::Clock::now()).wait.count(), 0);
}

TEST(DescriptorBudget, WarnsWhenTheLimitIsBelowMaxSessions) {
  Config c;
  c.relay.max_sessions = 1000;
  EXPECT_GE(relay_descriptors_needed(c), 2000u);
  EXPECT_FALSE(descriptor_limit_warning(c, 65536));
  auto w = descriptor_limit_warning(c, 1024);
  ASSERT_TRUE(w);
  EXPECT_NE(w->find("LimitNOFILE"), std::string::npos);
}

}  // namespace
}  // namespace bouncegate
