// SuppressionStore against a real redis-server on a free loopback port: the full lease ladder,
// real expiry, a new cycle after expiry, concurrent gates, unsubscribes, and Redis failure.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/learn.hpp"
#include "core/store.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

using namespace std::chrono_literals;

class StoreTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Config> config(const std::string& ladder = "[24h, 48h, 96h, 7d, 14d]",
                                       const std::string& extra = "") {
    return load_config_text(test::config_yaml(redis_.port(), ladder, extra), "test.yaml");
  }
  OutcomeRecord hard_bounce(const Config& cfg, const std::string& addr) {
    EventContext ctx;
    ctx.source = Source::relay;
    ctx.queue_id = "4XkQ1";
    return learn_from_reply(cfg, addr, SmtpCommand::rcpt, parse_reply("550 5.1.1 user unknown"),
                            ctx)
        .record;
  }
  test::RedisServer redis_;
  EventContext ctx_{"Q1", "", Source::milter, ""};
};

TEST_F(StoreTest, FullLadderThenCapAtLastStep) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  auto e = store.record(hard_bounce(*cfg, "dead@example.com"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->level, 0);
  EXPECT_EQ(e->cls, OutcomeClass::hard);
  EXPECT_NEAR(e->ttl_ms, 24 * 3600'000.0, 5000);
  const int64_t expected_hours[] = {48, 96, 7 * 24, 14 * 24, 14 * 24, 14 * 24};
  for (int i = 0; i < 6; ++i) {
    auto d = store.gate("dead@example.com", "", ctx_);
    ASSERT_EQ(d.result, GateResult::reject);
    ASSERT_TRUE(d.entry);
    EXPECT_EQ(d.entry->level, std::min(i + 1, 4)) << "step " << i;
    EXPECT_NEAR(d.entry->ttl_ms, expected_hours[i] * 3600'000.0, 5000) << "step " << i;
    EXPECT_EQ(d.entry->hits, i + 1);
    EXPECT_EQ(d.entry->code, "550 5.1.1");
  }
  auto got = store.get("dead@example.com");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->level, 4);
  EXPECT_EQ(got->hits, 6);
}

TEST_F(StoreTest, UnknownAddressPasses) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  EXPECT_EQ(store.gate("alive@example.com", "", ctx_).result, GateResult::pass);
  EXPECT_FALSE(store.get("alive@example.com"));
}

TEST_F(StoreTest, RealExpiryThenNewCycleStartsAtLevelZero) {
  auto cfg = config("[1s, 2s, 3s]");
  SuppressionStore store(cfg->redis, cfg->suppression);
  store.record(hard_bounce(*cfg, "gone@example.com"));
  auto d = store.gate("gone@example.com", "", ctx_);
  ASSERT_EQ(d.result, GateResult::reject);
  EXPECT_EQ(d.entry->level, 1);
  EXPECT_LE(d.entry->ttl_ms, 2000);
  std::this_thread::sleep_for(2200ms);
  EXPECT_EQ(store.gate("gone@example.com", "", ctx_).result, GateResult::pass);
  auto e = store.record(hard_bounce(*cfg, "gone@example.com"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->level, 0);
  EXPECT_LE(e->ttl_ms, 1000);
}

TEST_F(StoreTest, ReputationBlockIsRecordedNotSuppressed) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  EventContext ctx{"4XkQ2", "<m1@example.com>", Source::relay, ""};
  auto l =
      learn_from_reply(*cfg, "user@icloud.com", SmtpCommand::data_end,
                       parse_reply("554 5.7.1 [CS01] Message rejected due to local policy"), ctx);
  EXPECT_EQ(l.record.cls, OutcomeClass::reputation);
  EXPECT_FALSE(store.record(l.record));
  EXPECT_FALSE(store.get("user@icloud.com"));
  EXPECT_EQ(store.gate("user@icloud.com", "", ctx_).result, GateResult::pass);
  auto events = store.events_since(now_ms() - 60'000);
  bool found = false;
  for (const auto& ev : events)
    if (ev.get("addr") == "user@icloud.com" && ev.get("kind") == "outcome") {
      found = true;
      EXPECT_EQ(ev.get("class"), "reputation");
      EXPECT_EQ(ev.get("text"), "554 5.7.1 [CS01] Message rejected due to local policy");
      EXPECT_EQ(ev.get("queue_id"), "4XkQ2");
    }
  EXPECT_TRUE(found);
  auto st = store.stats(now_ms() - 3600'000, "icloud.com");
  EXPECT_EQ(st["icloud.com"]["reputation"], 1);
}

TEST_F(StoreTest, SixteenThreadsGatingOneAddressKeepLevelAndHitsExact) {
  auto cfg = config(
      "[1h, 2h, 3h, 4h, 5h, 6h, 7h, 8h, 9h, 10h, 11h, 12h, 13h, 14h, 15h, 16h, 17h, "
      "18h, 19h, 20h, 21h, 22h, 23h, 24h, 25h, 26h, 27h, 28h, 29h, 30h, 31h, 32h, "
      "33h, 34h, 35h, 36h, 37h, 38h, 39h, 40h, 41h, 42h, 43h, 44h, 45h, 46h, 47h, "
      "48h, 49h, 50h]");
  SuppressionStore store(cfg->redis, cfg->suppression);
  store.record(hard_bounce(*cfg, "busy@example.com"));
  std::atomic<int> rejects{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i)
        if (store.gate("busy@example.com", "", ctx_).result == GateResult::reject) ++rejects;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(rejects.load(), 48);
  auto e = store.get("busy@example.com");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->hits, 48);
  EXPECT_EQ(e->level, 48);  // one step per gate, none lost or doubled
}

TEST_F(StoreTest, ComplaintIsPermanentAndSurvivesLaterBounce) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  EventContext ctx{"", "", Source::arf, ""};
  store.record(outcome_for_class(*cfg, "angry@example.com", OutcomeClass::complaint, "", "abuse",
                                 ctx, "arf"));
  store.record(hard_bounce(*cfg, "angry@example.com"));
  auto e = store.get("angry@example.com");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->ttl_ms, -1);
  EXPECT_EQ(e->action, Action::suppress_permanent);
  auto d = store.gate("angry@example.com", "", ctx_);
  EXPECT_EQ(d.result, GateResult::reject);
  EXPECT_EQ(d.entry->ttl_ms, -1);
}

TEST_F(StoreTest, UnsubscribePerListAndAllLists) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  EventContext web{"", "", Source::web, ""};
  store.unsubscribe("reader@example.com", "news", web);
  EXPECT_EQ(store.gate("reader@example.com", "news", ctx_).result, GateResult::unsubscribed);
  EXPECT_EQ(store.gate("reader@example.com", "offers", ctx_).result, GateResult::pass);
  EXPECT_EQ(store.gate("reader@example.com", "", ctx_).result, GateResult::pass);
  store.unsubscribe("reader@example.com", "*", web);
  auto d = store.gate("reader@example.com", "offers", ctx_);
  EXPECT_EQ(d.result, GateResult::unsubscribed);
  EXPECT_EQ(d.list, "*");
  // Idempotent: the first time stays.
  auto before = store.unsubscriptions("reader@example.com");
  store.unsubscribe("reader@example.com", "news", web);
  EXPECT_EQ(store.unsubscriptions("reader@example.com"), before);
}

TEST_F(StoreTest, DryRunGateDoesNotBumpLease) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  store.record(hard_bounce(*cfg, "shadow@example.com"));
  auto d = store.gate("shadow@example.com", "", ctx_, true);
  EXPECT_EQ(d.result, GateResult::reject);
  auto e = store.get("shadow@example.com");
  EXPECT_EQ(e->level, 0);
  EXPECT_EQ(e->hits, 0);
}

TEST_F(StoreTest, ScriptsReloadAfterScriptFlush) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  store.record(hard_bounce(*cfg, "a@example.com"));
  redis_.cli({"SCRIPT", "FLUSH"});
  EXPECT_EQ(store.gate("a@example.com", "", ctx_).result, GateResult::reject);
}

TEST_F(StoreTest, RedisDownGivesTypedErrorWithinTimeout) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  store.ping();
  redis_.stop();
  for (int i = 0; i < 3; ++i) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(store.gate("x@example.com", "", ctx_), StoreError);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, 1500ms) << "attempt " << i;
  }
  redis_.start();
  std::this_thread::sleep_for(200ms);  // past reconnect_backoff
  EXPECT_EQ(store.gate("x@example.com", "", ctx_).result, GateResult::pass);
}

TEST_F(StoreTest, StalledRedisTimesOut) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  store.ping();
  redis_.pause();
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(store.gate("y@example.com", "", ctx_), StoreError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  redis_.resume();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(store.gate("y@example.com", "", ctx_).result, GateResult::pass);
}

TEST_F(StoreTest, JournalKeepsOutcomesWhileRedisIsDownAndReplays) {
  test::TempDir dir;
  auto cfg = load_config_text(test::config_yaml(redis_.port()) + "", "t.yaml");
  SuppressionConfig sup = cfg->suppression;
  sup.journal_path = dir.path() + "/journal";
  SuppressionStore store(cfg->redis, sup);
  redis_.stop();
  EXPECT_TRUE(store.record_or_journal(hard_bounce(*cfg, "late@example.com")).journaled);
  EXPECT_GT(store.journal_size(), 0u);
  redis_.start();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(store.replay_journal(), 1u);
  EXPECT_EQ(store.journal_size(), 0u);
  auto e = store.get("late@example.com");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->cls, OutcomeClass::hard);
}

// Issue: a write that timed out was still applied later (it was already on the socket) and
// then replayed from the journal: counted twice. With an idempotency key it counts once.
TEST_F(StoreTest, TimedOutWriteAppliedLateAndReplayedCountsOnce) {
  test::TempDir dir;
  auto cfg = load_config_text(test::config_yaml(redis_.port()) + "", "t.yaml");
  SuppressionConfig sup = cfg->suppression;
  sup.journal_path = dir.path() + "/journal";
  SuppressionStore store(cfg->redis, sup);
  store.record(hard_bounce(*cfg, "warm@example.com"));  // the script is loaded (EVALSHA works)
  OutcomeRecord o = hard_bounce(*cfg, "twice@example.com");
  assign_record_id(o);
  redis_.pause();  // the command reaches the socket, the reply never comes in time
  EXPECT_TRUE(store.record_or_journal(o).journaled);
  redis_.resume();  // ...and Redis applies it late
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(store.replay_journal(), 0u) << "the replay is recognised as already applied";
  EXPECT_EQ(store.journal_size(), 0u);
  size_t events = 0;
  for (const auto& e : store.events_since(0))
    if (e.get("addr") == "twice@example.com") ++events;
  EXPECT_EQ(events, 1u);
  EXPECT_EQ(store.stats(0, "example.com")["example.com"]["hard"], 2);  // warm + twice, once
}

TEST_F(StoreTest, RateTokenBucketLimitsPerMinute) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += store.take_send_token("acs", 5, 0) ? 1 : 0;
  EXPECT_EQ(allowed, 5);
}

TEST_F(StoreTest, MessageIdsAndDedupe) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  store.remember_message("abc@example.com", {{"queue_id", "4XkQ3"}, {"sender", "app@example.com"}});
  EXPECT_EQ(store.lookup_message("abc@example.com")["queue_id"], "4XkQ3");
  // An outcome with a dedupe id is recorded once; the second delivery records nothing.
  OutcomeRecord o = hard_bounce(*cfg, "twice@example.com");
  o.dedupe_id = "acs:event-1";
  o.dedupe_ttl = 60s;
  auto first = store.record(o);
  EXPECT_TRUE(first);
  EXPECT_FALSE(first.duplicate);
  auto second = store.record(o);
  EXPECT_FALSE(second);
  EXPECT_TRUE(second.duplicate);
  int outcomes = 0;
  for (const auto& ev : store.events_since(now_ms() - 60'000))
    outcomes += ev.get("addr") == "twice@example.com" && ev.get("kind") == "outcome";
  EXPECT_EQ(outcomes, 1);
}

}  // namespace
}  // namespace bouncegate

namespace bouncegate {
namespace {

TEST(StoreJournal, ReplayInterruptedByACrashIsFinishedLater) {
  test::RedisServer redis;
  test::TempDir dir;
  auto cfg = load_config_text(test::config_yaml(redis.port()), "t.yaml");
  SuppressionConfig sup = cfg->suppression;
  sup.journal_path = dir.path() + "/journal";
  // What a crash in the middle of a replay leaves behind: only the work file.
  dir.file("journal.replay",
           "crashed@example.com\thard\tsuppress\t550 5.1.1\t550 5.1.1 user unknown\tdead-address-"
           "text\trelay\tQ1\t\t\t\n");
  SuppressionStore store(cfg->redis, sup);
  EXPECT_GT(store.journal_size(), 0u);
  EXPECT_EQ(store.replay_journal(), 1u);
  EXPECT_EQ(store.journal_size(), 0u);
  auto e = store.get("crashed@example.com");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->cls, OutcomeClass::hard);
}

}  // namespace
}  // namespace bouncegate

namespace bouncegate {
namespace {

TEST(StorePool, FirstCallAfterARedisRestartSucceeds) {
  test::RedisServer redis;
  auto cfg = load_config_text(test::config_yaml(redis.port()), "t.yaml");
  SuppressionStore store(cfg->redis, cfg->suppression);
  store.ping();  // leaves an idle pooled connection
  redis.stop();
  redis.start();  // the pooled connection is now closed by the peer
  EventContext ctx{"Q", "", Source::milter, ""};
  EXPECT_EQ(store.gate("a@example.com", "", ctx).result, GateResult::pass);
}

}  // namespace
}  // namespace bouncegate

namespace bouncegate {
namespace {

TEST(StoreUnixSocket, GatesOverARedisUnixSocket) {
  test::TempDir dir;
  std::string sock = dir.path() + "/redis.sock";
  test::RedisServer redis({"--unixsocket", sock, "--unixsocketperm", "700"});
  auto cfg = load_config_text(
      "redis: {address: 'unix:" + sock + "', timeout: 300ms}\nsuppression: {journal_path: ''}\n",
      "unix.yaml");
  SuppressionStore store(cfg->redis, cfg->suppression);
  EventContext ctx{"Q", "", Source::cli, ""};
  store.record(outcome_for_class(*cfg, "dead@example.com", OutcomeClass::hard, "550 5.1.1",
                                 "550 5.1.1 gone", ctx, "test"));
  EXPECT_EQ(store.gate("dead@example.com", "", ctx).result, GateResult::reject);
  // The entry is really in that Redis.
  EXPECT_NE(redis.cli({"EXISTS", "bg:s:{dead@example.com}"}).find('1'), std::string::npos);
}

}  // namespace
}  // namespace bouncegate
