// gate.local_filter against a real redis-server: built from the entries there, kept current
// from the event stream (new suppressions, domain entries, unsubscriptions, imports), clean
// recipients decided without a round trip, hits still asked of Redis, and Redis going away.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/learn.hpp"
#include "core/local_filter.hpp"
#include "core/store.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

using namespace std::chrono_literals;

class LocalFilterTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Config> config() {
    return load_config_text(test::config_yaml(redis_.port()) +
                                "gate:\n  local_filter:\n    enabled: true\n"
                                "    poll_every: 50ms\n    rebuild_every: 10s\n",
                            "test.yaml");
  }
  OutcomeRecord hard(const Config& cfg, const std::string& addr) {
    return learn_from_reply(cfg, addr, SmtpCommand::rcpt, parse_reply("550 5.1.1 user unknown"),
                            ctx_)
        .record;
  }
  // EVALSHA calls Redis has served so far (the gate script is one).
  long evalsha_calls() {
    std::string info = redis_.cli({"INFO", "commandstats"});
    auto at = info.find("cmdstat_evalsha:calls=");
    if (at == std::string::npos) return 0;
    return std::stol(info.substr(at + 22));
  }
  // Waits until the filter may hold `name` (it follows the stream every 50 ms).
  bool learns(const LocalFilter& f, const std::string& name) {
    for (int i = 0; i < 100; ++i) {
      if (f.may_hold_any({name})) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  bool ready(const LocalFilter& f) {
    for (int i = 0; i < 200 && !f.status().ready; ++i) std::this_thread::sleep_for(20ms);
    return f.status().ready;
  }
  test::RedisServer redis_;
  EventContext ctx_{"Q1", "", Source::relay, ""};
};

TEST_F(LocalFilterTest, CleanRecipientsPassWithoutARoundTripHitsStillStepTheLease) {
  auto cfg = config();
  SuppressionStore writer(cfg->redis, cfg->suppression);
  writer.record(hard(*cfg, "gone@example.com"));
  auto filter = LocalFilter::start_if_enabled(*cfg);
  ASSERT_TRUE(filter);
  ASSERT_TRUE(ready(*filter));
  EXPECT_EQ(filter->status().members, 1u);
  SuppressionStore gate(cfg->redis, cfg->suppression);
  gate.use_local_filter(filter);
  // Settle the script cache, then count.
  EXPECT_EQ(gate.gate("gone@example.com", "", ctx_).result, GateResult::reject);
  const long before = evalsha_calls();
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(gate.gate("alive" + std::to_string(i) + "@example.net", "", ctx_).result,
              GateResult::pass);
  // At 1% false positives, 50 clean recipients ask Redis a handful of times at most.
  EXPECT_LE(evalsha_calls() - before, 5) << "clean recipients went to Redis";
  auto d = gate.gate("gone@example.com", "", ctx_);
  EXPECT_EQ(d.result, GateResult::reject) << "a hit is still asked of Redis";
  ASSERT_TRUE(d.entry);
  EXPECT_EQ(d.entry->level, 2) << "and still steps the lease";
}

TEST_F(LocalFilterTest, FollowsNewSuppressionsDomainEntriesAndUnsubscriptions) {
  auto cfg = config();
  auto filter = LocalFilter::start_if_enabled(*cfg);
  ASSERT_TRUE(ready(*filter));
  SuppressionStore writer(cfg->redis, cfg->suppression);
  SuppressionStore gate(cfg->redis, cfg->suppression);
  gate.use_local_filter(filter);
  EXPECT_EQ(gate.gate("late@example.com", "", ctx_).result, GateResult::pass);
  writer.record(hard(*cfg, "late@example.com"));
  ASSERT_TRUE(learns(*filter, "late@example.com")) << "a new suppression reached the filter";
  EXPECT_EQ(gate.gate("late@example.com", "", ctx_).result, GateResult::reject);
  // A domain entry made by hand covers every recipient of the domain.
  writer.record(operator_entry(*cfg, "*@closed.example", OutcomeClass::hard, RecordOrigin::manual));
  ASSERT_TRUE(learns(*filter, "*@closed.example"));
  EXPECT_EQ(gate.gate("anyone@closed.example", "", ctx_).result, GateResult::reject);
  // An unsubscription is refused for its list.
  writer.unsubscribe("reader@example.com", "news", EventContext{"", "", Source::web, ""});
  ASSERT_TRUE(learns(*filter, "reader@example.com"));
  EXPECT_EQ(gate.gate("reader@example.com", "news", ctx_).result, GateResult::unsubscribed);
}

TEST_F(LocalFilterTest, AnImportIsReadAgainFromTheKeys) {
  auto cfg = config();
  auto filter = LocalFilter::start_if_enabled(*cfg);
  ASSERT_TRUE(ready(*filter));
  SuppressionStore writer(cfg->redis, cfg->suppression);
  std::vector<OutcomeRecord> rows;
  for (int i = 0; i < 20; ++i)
    rows.push_back(operator_entry(*cfg, "imported" + std::to_string(i) + "@example.com",
                                  OutcomeClass::hard, RecordOrigin::import));
  writer.record_batch(rows);  // an import writes no event per row...
  writer.log_import("list.csv", rows.size(), EventContext{"", "", Source::cli, ""});
  // ...so a marker ahead of each batch makes the filter stand aside, then read the keys again.
  for (int i = 0; i < 200 && filter->status().members < 20; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(filter->status().members, 20u);
  EXPECT_TRUE(filter->may_hold_any({"imported0@example.com"}));
  EXPECT_TRUE(filter->may_hold_any({"imported19@example.com"}));
  EXPECT_FALSE(filter->may_hold_any({"never@example.com"})) << "serving again, not standing aside";
}

// Changes trimmed from the capped stream before the filter read them are found by a key scan.
TEST_F(LocalFilterTest, AStreamTrimmedPastTheFilterIsReadAgainFromTheKeys) {
  auto cfg = load_config_text(test::config_yaml(redis_.port()) +
                                  "gate:\n  local_filter:\n    enabled: true\n"
                                  "    poll_every: 1s\n",
                              "test.yaml");
  SuppressionStore writer(cfg->redis, cfg->suppression);
  writer.record(hard(*cfg, "first@example.com"));
  auto filter = LocalFilter::start_if_enabled(*cfg);
  ASSERT_TRUE(ready(*filter));
  writer.record(hard(*cfg, "lost@example.com"));
  redis_.cli({"XTRIM", "bg:events", "MAXLEN", "0"});  // gone before the next poll
  writer.record(hard(*cfg, "after@example.com"));
  for (int i = 0; i < 200 && filter->status().members < 3; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(filter->status().members, 3u);
  EXPECT_TRUE(filter->may_hold_any({"lost@example.com"})) << "a trimmed change was lost";
  EXPECT_FALSE(filter->may_hold_any({"never@example.com"}));
}

TEST_F(LocalFilterTest, RedisDownCleanStillPassesTheRestFailsAsConfiguredThenItStandsAside) {
  auto cfg = load_config_text(test::config_yaml(redis_.port()) +
                                  "gate:\n  local_filter:\n    enabled: true\n"
                                  "    poll_every: 50ms\n    rebuild_every: 10s\n",
                              "test.yaml");
  SuppressionStore writer(cfg->redis, cfg->suppression);
  writer.record(hard(*cfg, "gone@example.com"));
  auto filter = LocalFilter::start_if_enabled(*cfg);
  ASSERT_TRUE(ready(*filter));
  SuppressionStore gate(cfg->redis, cfg->suppression);
  gate.use_local_filter(filter);
  redis_.stop();
  EXPECT_EQ(gate.gate("alive@example.net", "", ctx_).result, GateResult::pass)
      << "a clean recipient needs no Redis";
  EXPECT_THROW(gate.gate("gone@example.com", "", ctx_), StoreError)
      << "a possible hit goes to Redis, and its failure to the configured failure policy";
  // Deaf for ten polls (at least 5 s), the filter stands aside: everything asks Redis.
  std::this_thread::sleep_for(5500ms);
  EXPECT_TRUE(filter->may_hold_any({"alive@example.net"}));
  EXPECT_THROW(gate.gate("alive@example.net", "", ctx_), StoreError);
  redis_.start();
}

TEST(LocalFilterConfig, RatesAndDurationsAreChecked) {
  auto ok = load_config_text(
      "redis: {}\ngate:\n  local_filter: {enabled: true, false_positive_rate: '0.5%'}\n", "g.yaml");
  EXPECT_TRUE(ok->gate.local_filter.enabled);
  EXPECT_DOUBLE_EQ(ok->gate.local_filter.false_positive_rate, 0.005);
  EXPECT_FALSE(load_config_text("redis: {}\n", "g.yaml")->gate.local_filter.enabled)
      << "off by default";
  try {
    load_config_text("redis: {}\ngate:\n  local_filter:\n    false_positive_rate: 50%\n", "g.yaml");
    FAIL() << "a 50% rate was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("g.yaml:4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_config_text("redis: {}\ngate:\n  local_filter: {bogus: 1}\n", "g.yaml"),
               ConfigError);
}

}  // namespace
}  // namespace bouncegate
