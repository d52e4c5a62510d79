// Upstream faults behind Postfix → bouncegate-relay: 421 on connect, a failed TLS handshake, a
// silent upstream, a stall past command_timeout and a hang-up in the middle of DATA. Postfix
// defers and retries, and once the upstream behaves every message arrives exactly once.
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "tests/faults/fault_rig.hpp"

namespace bouncegate::test {
namespace {

struct UpstreamFaults : ::testing::Test {
  std::unique_ptr<FaultRig> rig;
  void SetUp() override {
    RigOptions o;
    o.milter = false;
    rig = std::make_unique<FaultRig>(o);
  }

  // Until `n` deliveries of messages whose recipient starts with `tag` have been deferred, and
  // `reply` (the relay's answer to this fault) was among the reasons.
  bool wait_deferred(int n, const std::string& tag, const std::string& reply, int timeout_ms) {
    auto t0 = std::chrono::steady_clock::now();
    while (seconds_since(t0) * 1000 < timeout_ms) {
      std::istringstream lines(rig->postfix->maillog());
      int deferred = 0;
      bool seen = false;
      for (std::string line; std::getline(lines, line);) {
        if (line.find("to=<" + tag) == std::string::npos ||
            line.find("status=deferred") == std::string::npos)
          continue;
        ++deferred;
        seen = seen || line.find(reply) != std::string::npos;
      }
      if (deferred >= n && seen) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  // Three messages meet the faulty upstream, are deferred with `reply`, then the good
  // upstream takes its place on the same port and each arrives once.
  void faulty_then_good(UpstreamMode fault, const std::string& reply, const std::string& tag) {
    rig->start_upstream(fault);
    std::vector<std::string> subjects;
    for (int i = 0; i < 3; ++i) {
      subjects.push_back(tag + "-" + std::to_string(i));
      Submission s = rig->submit(subjects.back() + "@example.net", subjects.back());
      ASSERT_TRUE(s.accepted) << s.transcript;
    }
    ASSERT_TRUE(wait_deferred(3, tag, reply, 30000)) << rig->logs();
    EXPECT_EQ(rig->queued(), 3);
    for (const auto& s : subjects) EXPECT_EQ(rig->delivered(s), 0);

    rig->start_upstream(UpstreamMode::good);
    ASSERT_TRUE(rig->flush_and_wait_empty(30000)) << rig->logs();
    for (const auto& s : subjects) EXPECT_EQ(rig->delivered(s), 1) << s;
  }
};

TEST_F(UpstreamFaults, Greeting421DefersThenDeliversOnce) {
  faulty_then_good(UpstreamMode::greets_421, "421 4.4.1", "greet421");
}

TEST_F(UpstreamFaults, TlsHandshakeFailureDefersThenDeliversOnce) {
  faulty_then_good(UpstreamMode::wrong_ca, "454 4.7.0", "tlsfail");
  // A failed verification never sent the password.
  EXPECT_EQ(rig->relay->log().find("fault-upstream-secret"), std::string::npos);
}

TEST_F(UpstreamFaults, SilentUpstreamPastConnectTimeoutDefersThenDeliversOnce) {
  faulty_then_good(UpstreamMode::silent, "421 4.4.1", "silent");
}

// The upstream hangs up after the header section, before the final dot: it never completed the
// message, so the retry is the only copy.
TEST_F(UpstreamFaults, DisconnectMidDataDefersThenDeliversOnce) {
  std::vector<std::string> to = {"dropfirst-a@example.net", "dropfirst-b@example.net"};
  for (const auto& a : to) ASSERT_TRUE(rig->submit(a, "mid-" + a).accepted);
  ASSERT_TRUE(wait_deferred(2, "dropfirst-", "451 4.4.2", 20000)) << rig->logs();
  ASSERT_TRUE(rig->flush_and_wait_empty(30000)) << rig->logs();
  for (const auto& a : to) EXPECT_EQ(rig->delivered("mid-" + a), 1) << a;
}

// RCPT never answered the first time: the relay gives up after command_timeout (2 s here).
TEST_F(UpstreamFaults, StallPastCommandTimeoutDefersThenDeliversOnce) {
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(rig->submit("stallfirst-a@example.net", "stall-a").accepted);
  ASSERT_TRUE(wait_deferred(1, "stallfirst-", "4.4.2", 20000)) << rig->logs();
  double deferred_after = seconds_since(t0);
  EXPECT_GE(deferred_after, 2.0);
  EXPECT_LT(deferred_after, 10.0);
  std::cout << "stalled RCPT deferred after " << deferred_after << " s\n";
  ASSERT_TRUE(rig->flush_and_wait_empty(30000)) << rig->logs();
  EXPECT_EQ(rig->delivered("stall-a"), 1);
}

}  // namespace
}  // namespace bouncegate::test
