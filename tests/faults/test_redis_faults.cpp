// Redis killed (SIGKILL) during a steady stream through Postfix + milter + relay, then
// restarted: nothing Postfix accepted goes missing, the milter answers per on_store_error and
// gates again by itself, and relay outcomes journaled meanwhile reach the store.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/faults/fault_rig.hpp"

namespace bouncegate::test {
namespace {

using Clock = std::chrono::steady_clock;

void suppress(const FaultRig& rig, const std::string& address) {
  RunResult add = run({bin("bouncegate"), "--config", rig.config, "add", address, "--class", "hard",
                       "--code", "550 5.1.1"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
}

// Submits probes until one is accepted; returns the seconds that took (or -1 after `limit`).
double seconds_until_accepting(FaultRig& rig, const std::string& tag, double limit) {
  auto t0 = Clock::now();
  for (int i = 0; seconds_since(t0) < limit; ++i) {
    if (rig.submit("probe" + std::to_string(i) + "@example.net",
                   tag + "-probe-" + std::to_string(i))
            .accepted)
      return seconds_since(t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(RedisFaults, KilledMidStreamMilterTempfailsThenGatesAgainNothingLost) {
  FaultRig rig;
  suppress(rig, "dead@example.org");
  std::vector<std::string> accepted, refused;
  auto send = [&](const std::string& subject) {
    Submission s = rig.submit(subject + "@example.net", subject);
    (s.accepted ? accepted : refused).push_back(subject);
    return s;
  };

  for (int i = 0; i < 5; ++i) ASSERT_TRUE(send("tf-before-" + std::to_string(i)).accepted);

  rig.redis.stop();  // SIGKILL, like a crash
  double slowest = 0;
  for (int i = 0; i < 5; ++i) {
    Submission s = send("tf-down-" + std::to_string(i));
    EXPECT_FALSE(s.accepted) << s.transcript;
    EXPECT_EQ(s.reply.rfind("451 4.3.0", 0), 0u) << s.transcript;
    slowest = std::max(slowest, s.seconds);
  }
  // The whole swaks session, RCPT answer included, well inside Postfix's milter timeouts.
  EXPECT_LT(slowest, 5.0);
  Submission dead_down = rig.submit("dead@example.org", "tf-dead-down");
  EXPECT_EQ(dead_down.reply.rfind("451 4.3.0", 0), 0u) << dead_down.transcript;

  rig.redis.start();
  double recovery = seconds_until_accepting(rig, "tf", 20);
  ASSERT_GE(recovery, 0) << rig.logs();
  EXPECT_LT(recovery, 5.0);
  RecordProperty("milter_recovery_seconds", std::to_string(recovery));
  std::cout << "milter serving again " << recovery << " s after Redis restarted\n";

  // The clients retry what was refused; the suppression survived the crash (append-only file).
  for (const auto& subject : std::vector<std::string>(refused)) {
    Submission s = rig.submit(subject + "@example.net", subject);
    ASSERT_TRUE(s.accepted) << s.transcript;
    accepted.push_back(subject);
  }
  Submission dead = rig.submit("dead@example.org", "tf-dead-after");
  EXPECT_EQ(dead.reply.rfind("550 5.1.1", 0), 0u) << dead.transcript;

  ASSERT_TRUE(rig.flush_and_wait_empty(30000)) << rig.logs();
  EXPECT_EQ(rig.queued(), 0);
  for (const auto& subject : accepted) EXPECT_EQ(rig.delivered(subject), 1) << subject;
  EXPECT_EQ(rig.delivered("tf-dead-after"), 0);
}

TEST(RedisFaults, KilledWithAcceptPolicyRelayJournalsOutcomesAndReplaysWithoutTraffic) {
  RigOptions o;
  o.on_store_error = "accept";
  FaultRig rig(o);
  std::vector<std::string> normal;
  for (int i = 0; i < 3; ++i) {
    normal.push_back("acc-before-" + std::to_string(i));
    ASSERT_TRUE(rig.submit(normal.back() + "@example.net", normal.back()).accepted);
  }

  rig.redis.stop();
  for (int i = 0; i < 4; ++i) {
    normal.push_back("acc-down-" + std::to_string(i));
    Submission s = rig.submit(normal.back() + "@example.net", normal.back());
    ASSERT_TRUE(s.accepted) << s.transcript;  // on_store_error: accept
    EXPECT_LT(s.seconds, 5.0);
  }
  const std::vector<std::string> dead = {"bounce-journal-0@example.net",
                                         "bounce-journal-1@example.net",
                                         "bounce-journal-2@example.net"};
  for (const auto& a : dead) ASSERT_TRUE(rig.submit(a, "acc-" + a).accepted);

  // Postfix delivers or bounces everything while Redis is still down.
  ASSERT_TRUE(rig.flush_and_wait_empty(30000)) << rig.logs();
  std::string maillog = rig.postfix->maillog();
  for (const auto& a : dead)
    EXPECT_TRUE(
        std::regex_search(maillog, std::regex("to=<" + a + ">,.*dsn=5\\.1\\.1, status=bounced")))
        << maillog;
  std::string journaled = read_text(rig.journal);
  for (const auto& a : dead) EXPECT_NE(journaled.find(a), std::string::npos) << journaled;
  EXPECT_EQ(rig.show(dead[0]), "");  // the store cannot answer

  // No traffic after Redis returns: the relay replays the journal by itself.
  rig.redis.start();
  auto t0 = Clock::now();
  bool all = false;
  while (!all && seconds_since(t0) < 20) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    all = true;
    for (const auto& a : dead)
      all = all && rig.show(a).find("\"class\":\"hard\"") != std::string::npos;
  }
  ASSERT_TRUE(all) << rig.logs();
  double replayed = seconds_since(t0);
  RecordProperty("journal_replayed_seconds", std::to_string(replayed));
  std::cout << "journal replayed " << replayed << " s after Redis restarted\n";
  for (const auto& a : dead) EXPECT_NE(rig.show(a).find("\"source\":\"relay\""), std::string::npos);
  EXPECT_EQ(std::filesystem::exists(rig.journal) ? std::filesystem::file_size(rig.journal) : 0u,
            0u);

  // Gated again: the next message to a journaled address is refused at RCPT.
  Submission again = rig.submit(dead[0], "acc-again");
  EXPECT_EQ(again.reply.rfind("550 5.1.1", 0), 0u) << again.transcript;

  ASSERT_TRUE(rig.flush_and_wait_empty(30000)) << rig.logs();
  for (const auto& subject : normal) EXPECT_EQ(rig.delivered(subject), 1) << subject;
  for (const auto& a : dead) EXPECT_EQ(rig.delivered("acc-" + a), 0);
}

}  // namespace
}  // namespace bouncegate::test
