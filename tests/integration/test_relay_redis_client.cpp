// The relay's asynchronous gate client (relay/async_redis) against a real redis-server: a host
// name, a database other than 0 and AUTH are honoured, and a refused AUTH is named (with
// Redis' text, never the password) and gives the configured store-error reply.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/learn.hpp"
#include "core/store.hpp"
#include "tests/support/blackhole.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/scripted_upstream.hpp"
#include "tests/support/smtp_client.hpp"

namespace bouncegate {
namespace {

// A relay in front of a scripted upstream, with `redis_yaml` as its redis: section.
class RelayWithRedis {
 public:
  RelayWithRedis(test::TempDir& dir, const std::string& redis_yaml)
      : upstream_(test::UpstreamScript{}), port_(test::free_port()) {
    cfg_path_ = dir.file("relay-" + std::to_string(port_) + ".yaml",
                         "redis: " + redis_yaml +
                             "\nsuppression: {journal_path: ''}\n"
                             "relay:\n  listen: ['127.0.0.1:" +
                             std::to_string(port_) +
                             "']\n  hostname: relay.test\n"
                             "  upstream: {host: 127.0.0.1, port: " +
                             std::to_string(upstream_.port()) +
                             ", tls: none, insecure: true}\n"
                             "logging: {level: debug}\n");
    relay_.emplace(std::vector<std::string>{test::bin("bouncegate-relay"), "--config", cfg_path_},
                   dir.path() + "/relay-" + std::to_string(port_) + ".log");
    ok_ = test::wait_for_port(port_, 5000);
  }
  bool started() const { return ok_; }
  int stop() { return relay_->stop(SIGTERM); }
  std::string log() const { return relay_->log(); }
  // The relay's answer to RCPT TO:<rcpt> in a fresh session.
  std::string rcpt(const std::string& rcpt) {
    test::SmtpClient c(port_);
    c.reply();
    c.send("EHLO client.test\r\n");
    c.reply();
    c.send("MAIL FROM:<app@example.com>\r\n");
    c.reply();
    c.send("RCPT TO:<" + rcpt + ">\r\n");
    std::string r = c.reply();
    c.send("QUIT\r\n");
    c.reply();
    return r;
  }

 private:
  test::ScriptedUpstream upstream_;
  int port_;
  std::string cfg_path_;
  std::optional<test::DaemonProcess> relay_;
  bool ok_ = false;
};

void suppress(const std::string& redis_yaml, const std::string& addr) {
  auto cfg = load_config_text("redis: " + redis_yaml + "\nsuppression: {journal_path: ''}\n",
                              "store.yaml");
  SuppressionStore store(cfg->redis, cfg->suppression);
  EventContext ctx{"Q1", "", Source::relay, ""};
  ASSERT_TRUE(store.record(
      learn_from_reply(*cfg, addr, SmtpCommand::rcpt, parse_reply("550 5.1.1 user unknown"), ctx)
          .record));
}

TEST(RelayRedisClient, AHostNameAndADatabaseOtherThanZeroAreHonoured) {
  test::RedisServer redis;
  test::TempDir dir;
  const std::string port = std::to_string(redis.port());
  const std::string db3 = "{address: 'localhost:" + port + "', database: 3, timeout: 1s}";
  suppress(db3, "dead@example.net");
  suppress("{address: '127.0.0.1:" + port + "'}", "only-in-db0@example.net");
  RelayWithRedis relay(dir, db3);
  ASSERT_TRUE(relay.started()) << relay.log();
  // The entry in database 3 refuses; the one in database 0 is another database's.
  EXPECT_EQ(relay.rcpt("dead@example.net").substr(0, 3), "550") << relay.log();
  EXPECT_EQ(relay.rcpt("only-in-db0@example.net").substr(0, 3), "250") << relay.log();
  EXPECT_EQ(relay.rcpt("clean@example.net").substr(0, 3), "250") << relay.log();
  // The gate stepped the lease in database 3 (the hit went where the entry is).
  EXPECT_NE(redis.cli({"-n", "3", "HGET", "bg:s:{dead@example.net}", "hits"}).find('1'),
            std::string::npos);
}

TEST(RelayRedisClient, AuthIsSentAndARefusalIsNamedWithoutThePassword) {
  test::RedisServer redis({"--requirepass", "right-s3cret"});
  test::TempDir dir;
  const std::string at = "127.0.0.1:" + std::to_string(redis.port());
  std::string right = dir.file("right.pw", "right-s3cret\n");
  std::string wrong = dir.file("wrong.pw", "wrong-s3cret\n");
  suppress("{address: '" + at + "', password_file: '" + right + "'}", "dead@example.net");
  {
    RelayWithRedis relay(dir, "{address: '" + at + "', password_file: '" + right + "'}");
    ASSERT_TRUE(relay.started()) << relay.log();
    EXPECT_EQ(relay.rcpt("dead@example.net").substr(0, 3), "550") << relay.log();
  }
  RelayWithRedis relay(
      dir, "{address: '" + at + "', password_file: '" + wrong + "', reconnect_backoff: 100ms}");
  ASSERT_TRUE(relay.started()) << relay.log();
  // The store-error policy (default: defer) answers, never a pass for a suppressed address.
  EXPECT_EQ(relay.rcpt("dead@example.net").substr(0, 1), "4") << relay.log();
  std::string log = relay.log();
  EXPECT_NE(log.find("AUTH refused"), std::string::npos) << log;
  EXPECT_NE(log.find("WRONGPASS"), std::string::npos) << log;
  EXPECT_EQ(log.find("wrong-s3cret"), std::string::npos) << log;
}

TEST(RelayRedisClient, ADatabaseRedisRefusesIsNamedAndNothingRunsInDatabaseZero) {
  // A redis-server with 4 databases refuses SELECT 10.
  test::RedisServer redis({"--databases", "4"});
  test::TempDir dir;
  const std::string at = "127.0.0.1:" + std::to_string(redis.port());
  suppress("{address: '" + at + "'}", "dead@example.net");  // in database 0
  RelayWithRedis relay(dir, "{address: '" + at + "', database: 10}");
  ASSERT_TRUE(relay.started()) << relay.log();
  EXPECT_EQ(relay.rcpt("dead@example.net").substr(0, 1), "4") << relay.log();
  EXPECT_NE(relay.log().find("SELECT refused"), std::string::npos) << relay.log();
  // The gate script never ran against database 0's entry behind the refused SELECT.
  EXPECT_EQ(redis.cli({"HGET", "bg:s:{dead@example.net}", "hits"}).find('1'), std::string::npos);
}

// Sentinel: the gate's connection asks the sentinels for the master (off the io thread) and,
// after the master is killed, finds the promoted replica; suppressions are enforced again.
TEST(RelayRedisClient, SentinelFailoverIsFollowed) {
  test::RedisServer master;
  test::RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(master.port())});
  const std::string monitor = "sentinel monitor bgr 127.0.0.1 " + std::to_string(master.port()) +
                              " 2\nsentinel down-after-milliseconds bgr 1000\n"
                              "sentinel failover-timeout bgr 5000\n";
  test::RedisServer s1({}, monitor), s2({}, monitor), s3({}, monitor);
  test::TempDir dir;
  const std::string redis_yaml =
      "{timeout: 300ms, connect_timeout: 300ms, reconnect_backoff: 200ms, sentinel: {master: bgr, "
      "nodes: [127.0.0.1:" +
      std::to_string(s1.port()) + ", 127.0.0.1:" + std::to_string(s2.port()) +
      ", 127.0.0.1:" + std::to_string(s3.port()) + "]}}";
  suppress(redis_yaml, "dead@example.net");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (replica.cli({"EXISTS", "bg:s:{dead@example.net}"}).find('1') == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "replica never synced";
    usleep(100'000);
  }
  RelayWithRedis relay(dir, redis_yaml);
  ASSERT_TRUE(relay.started()) << relay.log();
  ASSERT_EQ(relay.rcpt("dead@example.net").substr(0, 3), "550") << relay.log();
  master.stop();
  const auto killed = std::chrono::steady_clock::now();
  bool refused = false;
  while (!refused && std::chrono::steady_clock::now() - killed < std::chrono::seconds(20)) {
    std::string r = relay.rcpt("dead@example.net");
    // Until a replica is promoted the store-error policy answers (4xx), never a pass.
    ASSERT_NE(r.substr(0, 3), "250") << relay.log();
    refused = r.substr(0, 3) == "550";
    if (!refused) usleep(200'000);
  }
  EXPECT_TRUE(refused) << relay.log();
  EXPECT_NE(replica.cli({"ROLE"}).find("master"), std::string::npos);
}

// A Redis whose port never accepts (its accept queue is full): RCPTs that arrive together
// while the gate's connection is being made each hear the store-error reply within one
// bound (redis.connect_timeout + redis.timeout), not one after the other; and SIGTERM while
// a session waits on a connection still being made stops the relay cleanly.
TEST(RelayRedisClient, ARedisThatNeverAcceptsCostsOneBoundAndDoesNotHoldTheStop) {
  test::Blackhole hole;
  test::TempDir dir;
  RelayWithRedis relay(dir, "{address: '127.0.0.1:" + std::to_string(hole.port()) +
                                "', timeout: 500ms, connect_timeout: 500ms, "
                                "reconnect_backoff: 100ms}");
  ASSERT_TRUE(relay.started()) << relay.log();
  std::vector<std::string> replies(3);
  std::vector<std::thread> sessions;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < replies.size(); ++i)
    sessions.emplace_back(
        [&, i] { replies[i] = relay.rcpt("r" + std::to_string(i) + "@example.net"); });
  for (auto& t : sessions) t.join();
  const auto took = std::chrono::steady_clock::now() - start;
  for (const auto& r : replies) EXPECT_EQ(r.substr(0, 3), "451") << r << relay.log();
  // One bound is 1 s; one after the other would be 3 s.
  EXPECT_LT(took, std::chrono::milliseconds(2500)) << relay.log();

  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // past the backoff
  std::string last;
  std::thread waiting([&] { last = relay.rcpt("late@example.net"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // its connection is being made
  const auto stopping = std::chrono::steady_clock::now();
  EXPECT_EQ(relay.stop(), 0) << relay.log();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(4)) << relay.log();
  waiting.join();
  EXPECT_NE(last.substr(0, 3), "250") << last;
}

}  // namespace
}  // namespace bouncegate
