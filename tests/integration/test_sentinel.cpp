// Redis Sentinel: a master, a replica and three sentinels on loopback. Suppressions written
// before the master dies are still enforced after the failover, and gating resumes within 10 s.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/learn.hpp"
#include "core/store.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

using namespace std::chrono_literals;

TEST(Sentinel, FailoverKeepsSuppressionsAndGatingResumes) {
  test::RedisServer master;
  test::RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(master.port())});
  std::string monitor = "sentinel monitor bgm 127.0.0.1 " + std::to_string(master.port()) +
                        " 2\n"
                        "sentinel down-after-milliseconds bgm 1000\n"
                        "sentinel failover-timeout bgm 5000\n"
                        "sentinel parallel-syncs bgm 1\n";
  test::RedisServer s1({}, monitor), s2({}, monitor), s3({}, monitor);
  auto cfg = load_config_text(
      "redis:\n  timeout: 300ms\n  connect_timeout: 300ms\n"
      "  reconnect_backoff: 200ms\n  sentinel:\n    master: bgm\n"
      "    nodes: [127.0.0.1:" +
          std::to_string(s1.port()) + ", 127.0.0.1:" + std::to_string(s2.port()) +
          ", 127.0.0.1:" + std::to_string(s3.port()) +
          "]\n"
          "suppression: {journal_path: ''}\n",
      "sentinel.yaml");
  SuppressionStore store(cfg->redis, cfg->suppression);
  EventContext ctx{"Q", "", Source::milter, ""};
  // A real milter on the same Sentinel configuration, serving through the failover.
  test::TempDir dir;
  int milter_port = test::free_port();
  std::string milter_cfg =
      dir.file("milter.yaml",
               "redis:\n  timeout: 300ms\n  connect_timeout: 300ms\n"
               "  reconnect_backoff: 200ms\n  sentinel:\n    master: bgm\n    nodes: [127.0.0.1:" +
                   std::to_string(s1.port()) + ", 127.0.0.1:" + std::to_string(s2.port()) +
                   ", 127.0.0.1:" + std::to_string(s3.port()) +
                   "]\nsuppression: {journal_path: ''}\nlogging: {level: debug}\n"
                   "milter: {socket: 'inet:" +
                   std::to_string(milter_port) + "@127.0.0.1'}\n");
  test::DaemonProcess milter({test::bin("bouncegate-milter"), "--config", milter_cfg},
                             dir.path() + "/milter.log");
  ASSERT_TRUE(test::wait_for_port(milter_port, 5000)) << milter.log();
  // One RCPT through the milter with queue id `qid`; true when the milter refused it as
  // suppressed (a tempfail while Redis has no master is logged differently).
  auto milter_refuses = [&](const std::string& qid) {
    std::string script = dir.file(
        qid + ".lua", "local conn = mt.connect('inet:" + std::to_string(milter_port) +
                          "@127.0.0.1', 50, 0.1)\nassert(conn)\n"
                          "if not mt.test_option(conn, SMFIP_NOCONNECT) then\n"
                          "  assert(mt.conninfo(conn, 'localhost', '127.0.0.1') == nil)\nend\n"
                          "mt.macro(conn, SMFIC_MAIL, 'i', '" +
                          qid +
                          "')\n"
                          "assert(mt.mailfrom(conn, '<app@example.com>') == nil)\n"
                          "mt.getreply(conn)\n"
                          "mt.macro(conn, SMFIC_RCPT, 'i', '" +
                          qid +
                          "')\n"
                          "assert(mt.rcptto(conn, '<dead@example.com>') == nil)\n"
                          "mt.getreply(conn)\nmt.disconnect(conn)\n");
    test::run({"miltertest", "-s", script});
    return milter.log().find(qid + ": rcpt=<dead@example.com> decision=reject") !=
           std::string::npos;
  };
  auto rec = learn_from_reply(*cfg, "dead@example.com", SmtpCommand::rcpt,
                              parse_reply("550 5.1.1 user unknown"), ctx);
  ASSERT_TRUE(store.record(rec.record));
  // Wait until the replica has the entry before the master dies.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (replica.cli({"EXISTS", "bg:s:{dead@example.com}"}).find('1') == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "replica never synced";
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(milter_refuses("QSEN0")) << milter.log();
  master.stop();
  auto killed = std::chrono::steady_clock::now();
  bool served = false;
  for (int attempt = 1; std::chrono::steady_clock::now() - killed < 15s; ++attempt) {
    if (milter_refuses("QSEN" + std::to_string(attempt))) {
      served = true;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  auto took = std::chrono::steady_clock::now() - killed;
  ASSERT_TRUE(served) << "the milter never refused the suppressed recipient again\n"
                      << milter.log();
  EXPECT_LT(took, 10s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                       << " ms";
  std::printf(
      "milter refusing again %lld ms after the master was killed\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  // The store in this process follows the failover too.
  EXPECT_EQ(store.gate("dead@example.com", "", ctx).result, GateResult::reject);
  // The new master takes writes.
  auto e = store.record(learn_from_reply(*cfg, "new@example.com", SmtpCommand::rcpt,
                                         parse_reply("550 5.1.1 user unknown"), ctx)
                            .record);
  ASSERT_TRUE(e);
  EXPECT_NE(replica.cli({"ROLE"}).find("master"), std::string::npos);
}

TEST(Sentinel, ConfigNeedsNodesAndMaster) {
  EXPECT_THROW(load_config_text("redis: {sentinel: {master: m}}\n", "s.yaml"), ConfigError);
  EXPECT_THROW(load_config_text("redis: {sentinel: {nodes: ['127.0.0.1:26379']}}\n", "s.yaml"),
               ConfigError);
  EXPECT_THROW(load_config_text("redis: {sentinel: {master: m, nodes: [nohost]}}\n", "s.yaml"),
               ConfigError);
}

}  // namespace
}  // namespace bouncegate
