// SIGTERM to the relay and to the milter while clients keep sending: transactions in flight
// finish or get a 4xx, the daemon exits 0, and every message Postfix accepted arrives once.
#include <gtest/gtest.h>
#include <signal.h>

#include <mutex>
#include <thread>

#include "tests/faults/fault_rig.hpp"

namespace bouncegate::test {
namespace {

// `clients` threads, each submitting `per_client` messages one after another.
struct Load {
  std::mutex mu;
  std::vector<std::pair<std::string, Submission>> results;
  std::vector<std::thread> threads;

  Load(const FaultRig& rig, const std::string& tag, int clients, int per_client) {
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([this, &rig, tag, per_client, c] {
        for (int i = 0; i < per_client; ++i) {
          std::string subject = tag + "-" + std::to_string(c) + "-" + std::to_string(i);
          Submission s = rig.submit(subject + "@example.net", subject);
          std::lock_guard lock(mu);
          results.emplace_back(subject, s);
        }
      });
  }
  ~Load() { join(); }
  void join() {
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

TEST(SigtermUnderLoad, RelayDrainsAndNothingAcceptedIsLost) {
  FaultRig rig;
  // One transaction certainly in flight at SIGTERM: its RCPT stalls upstream for the relay's
  // command_timeout (2 s), well inside the 10 s drain bound, and ends with a 4xx to Postfix.
  ASSERT_TRUE(rig.submit("stallfirst-sig@example.net", "sig-stalled").accepted);
  Load load(rig, "relay-load", 3, 8);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(rig.relay->stop(SIGTERM, 15000), 0) << rig.relay->log();
  double drained = seconds_since(t0);
  EXPECT_LT(drained, 11.0);
  std::cout << "relay exited " << drained << " s after SIGTERM\n";
  EXPECT_NE(rig.relay->log().find("draining"), std::string::npos);
  rig.start_relay();
  load.join();

  ASSERT_TRUE(rig.flush_and_wait_empty(40000)) << rig.logs();
  EXPECT_EQ(rig.queued(), 0);
  EXPECT_EQ(rig.delivered("sig-stalled"), 1);
  ASSERT_EQ(load.results.size(), 24u);
  for (const auto& [subject, s] : load.results) {
    // The relay is behind Postfix: its restart never reaches the submitting clients.
    EXPECT_TRUE(s.accepted) << s.transcript;
    EXPECT_EQ(rig.delivered(subject), 1) << subject;
  }
}

TEST(SigtermUnderLoad, MilterStopsCleanlyClientsGet4xxAndNothingAcceptedIsLost) {
  FaultRig rig;
  Load load(rig, "milter-load", 3, 8);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(rig.milter->stop(SIGTERM, 15000), 0) << rig.milter->log();
  std::cout << "milter exited " << seconds_since(t0) << " s after SIGTERM\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  rig.start_milter();
  load.join();

  ASSERT_EQ(load.results.size(), 24u);
  std::vector<std::string> accepted;
  int refused = 0;
  for (const auto& [subject, s] : load.results) {
    if (s.accepted) {
      accepted.push_back(subject);
      continue;
    }
    ++refused;
    // milter_default_action = tempfail: a 4xx, never a 5xx, never a hang.
    EXPECT_EQ(s.reply.substr(0, 1), "4") << s.transcript;
    // The client retries later and gets through.
    Submission again = rig.submit(subject + "@example.net", subject);
    EXPECT_TRUE(again.accepted) << again.transcript;
    if (again.accepted) accepted.push_back(subject);
  }
  std::cout << "refused with 4xx while the milter was away: " << refused << "\n";
  ASSERT_TRUE(rig.flush_and_wait_empty(40000)) << rig.logs();
  EXPECT_EQ(rig.queued(), 0);
  EXPECT_EQ(accepted.size(), 24u);
  for (const auto& subject : accepted) EXPECT_EQ(rig.delivered(subject), 1) << subject;
}

}  // namespace
}  // namespace bouncegate::test
