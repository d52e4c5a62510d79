// The relay's outcome writer against a real redis-server: everything queued goes in one
// pipelined round trip, nothing accepted is lost (Redis hung, Redis down, the writer
// stopped), what Redis could not take is journaled and replayed once, and a full queue
// refuses instead of growing.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/learn.hpp"
#include "core/metrics.hpp"
#include "core/outcome_writer.hpp"
#include "core/store.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

using namespace std::chrono_literals;

class OutcomeWriterTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Config> config(bool journal) {
    std::string yaml = test::config_yaml(redis_.port());
    if (journal) {
      const std::string none = "journal_path: ''";
      yaml.replace(yaml.find(none), none.size(), "journal_path: " + dir_.path() + "/journal");
    }
    return load_config_text(yaml, "test.yaml");
  }
  OutcomeRecord hard(const Config& cfg, const std::string& addr) {
    auto o =
        learn_from_reply(cfg, addr, SmtpCommand::rcpt, parse_reply("550 5.1.1 user unknown"), ctx_)
            .record;
    assign_record_id(o);
    return o;
  }
  long events() { return std::stol(redis_.cli({"XLEN", "bg:events"})); }
  test::TempDir dir_;
  test::RedisServer redis_;
  EventContext ctx_{"Q1", "", Source::relay, ""};
};

// Counts the callbacks and remembers the last error.
struct Done {
  std::atomic<int> written{0}, journaled{0}, lost{0};
  OutcomeWriter::RecordDone fn() {
    return [this](const RecordResult& r, const std::string& error) {
      if (!error.empty())
        ++lost;
      else if (r.journaled)
        ++journaled;
      else
        ++written;
    };
  }
};

TEST_F(OutcomeWriterTest, WhatQueuesDuringARoundTripGoesInTheNextOne) {
  auto cfg = config(false);
  auto store = std::make_shared<SuppressionStore>(cfg->redis, cfg->suppression);
  store->ping();
  OutcomeWriter w(store, 1000);
  Done done;
  std::vector<OutcomeRecord> rest;
  for (int i = 0; i < 199; ++i)
    rest.push_back(hard(*cfg, "r" + std::to_string(i) + "@example.com"));
  // The first record's round trip waits (Redis stopped, for less than redis.timeout); the 199
  // queued meanwhile go together in the next one.
  redis_.pause();
  ASSERT_TRUE(w.record(hard(*cfg, "first@example.com"), Millis(0), done.fn()));
  std::this_thread::sleep_for(50ms);
  for (auto& o : rest) ASSERT_TRUE(w.record(o, Millis(0), done.fn()));
  std::this_thread::sleep_for(20ms);
  redis_.resume();
  w.flush();
  EXPECT_EQ(w.round_trips(), 2u);
  EXPECT_EQ(done.written.load(), 200);
  EXPECT_EQ(done.lost.load(), 0);
  for (int i = 0; i < 199; ++i) EXPECT_TRUE(store->get("r" + std::to_string(i) + "@example.com"));
  auto first = store->get("first@example.com");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->level, 0);
  EXPECT_EQ(events(), 200);  // one event per record, none twice
}

TEST_F(OutcomeWriterTest, AHungTripIsJournaledAndItsLateWriteCountsOnce) {
  auto cfg = config(true);
  auto store = std::make_shared<SuppressionStore>(cfg->redis, cfg->suppression);
  store->ping();
  OutcomeWriter w(store, 1000);
  Done done;
  redis_.pause();
  ASSERT_TRUE(w.record(hard(*cfg, "late@example.com"), Millis(0), done.fn()));
  std::this_thread::sleep_for(600ms);  // past redis.timeout (300 ms)
  w.flush();
  EXPECT_EQ(done.journaled.load(), 1);
  redis_.resume();  // Redis now runs the write it held, and the journal replays it again
  ASSERT_TRUE(w.record(hard(*cfg, "next@example.com"), Millis(0), done.fn()));
  w.flush();
  EXPECT_EQ(done.written.load(), 1);
  EXPECT_EQ(store->journal_size(), 0u);  // replayed after the write that reached Redis
  auto late = store->get("late@example.com");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->level, 0);  // applied late plus replayed: counted once (its record id)
}

TEST_F(OutcomeWriterTest, AScriptFlushedAwayIsLoadedAgainAndNothingIsLost) {
  auto cfg = config(false);  // no journal: a record answered NOSCRIPT must still be written
  auto store = std::make_shared<SuppressionStore>(cfg->redis, cfg->suppression);
  OutcomeWriter w(store, 100);
  Done done;
  ASSERT_TRUE(w.record(hard(*cfg, "one@example.com"), Millis(0), done.fn()));
  w.flush();
  // As after a restart or a failover: the record script is gone; the writer sent SCRIPT LOAD
  // only with its first trip.
  redis_.cli({"SCRIPT", "FLUSH"});
  ASSERT_TRUE(w.record(hard(*cfg, "two@example.com"), Millis(0), done.fn()));
  w.flush();
  // NOSCRIPT: sent again on its own (EVAL) instead of being journaled or lost.
  EXPECT_EQ(done.journaled.load(), 0);
  EXPECT_EQ(done.written.load(), 2);
  ASSERT_TRUE(w.record(hard(*cfg, "three@example.com"), Millis(0), done.fn()));
  w.flush();
  EXPECT_EQ(done.written.load(), 3);
  EXPECT_EQ(done.lost.load(), 0);
  for (const char* a : {"one@example.com", "two@example.com", "three@example.com"})
    EXPECT_TRUE(store->get(a)) << a;
}

TEST_F(OutcomeWriterTest, MessageIdsAndThePauseGoInTheSameTrip) {
  auto cfg = config(false);
  auto store = std::make_shared<SuppressionStore>(cfg->redis, cfg->suppression);
  OutcomeWriter w(store, 100);
  std::atomic<int> noted{0};
  std::string note_error = "not called";
  ASSERT_TRUE(w.remember({"m1@example.com",
                          {{"queue_id", "Q1"}, {"sender", "a@example.com"}},
                          {"x@example.net", "y@example.net"}},
                         [&](const std::string& e) {
                           note_error = e;
                           ++noted;
                         }));
  Done done;
  ASSERT_TRUE(w.record(hard(*cfg, "x@example.net"), Millis(60000), done.fn()));
  w.flush();
  EXPECT_EQ(noted.load(), 1);
  EXPECT_EQ(note_error, "");
  EXPECT_EQ(store->lookup_message("m1@example.com")["queue_id"], "Q1");
  EXPECT_TRUE(store->message_had_recipient("m1@example.com", "y@example.net"));
  EXPECT_GT(store->shared_pause_until(), 0);
  EXPECT_EQ(done.written.load(), 1);
}

TEST_F(OutcomeWriterTest, StoppingWritesEverythingQueued) {
  auto cfg = config(false);
  auto store = std::make_shared<SuppressionStore>(cfg->redis, cfg->suppression);
  Done done;
  {
    OutcomeWriter w(store, 1000);
    for (int i = 0; i < 300; ++i)
      ASSERT_TRUE(
          w.record(hard(*cfg, "s" + std::to_string(i) + "@example.com"), Millis(0), done.fn()));
  }  // the destructor, at once
  EXPECT_EQ(done.written.load(), 300);
  for (int i = 0; i < 300; ++i) EXPECT_TRUE(store->get("s" + std::to_string(i) + "@example.com"));
  EXPECT_EQ(events(), 300);
}

TEST_F(OutcomeWriterTest, RedisDownJournalsOrSaysWhyItIsLost) {
  auto with = config(true);
  auto kept = std::make_shared<SuppressionStore>(with->redis, with->suppression);
  auto without_cfg = config(false);
  auto lost = std::make_shared<SuppressionStore>(without_cfg->redis, without_cfg->suppression);
  redis_.stop();
  Done a, b;
  {
    OutcomeWriter w1(kept, 10), w2(lost, 10);
    ASSERT_TRUE(w1.record(hard(*with, "down@example.com"), Millis(0), a.fn()));
    ASSERT_TRUE(w2.record(hard(*without_cfg, "down@example.com"), Millis(0), b.fn()));
  }
  EXPECT_EQ(a.journaled.load(), 1);
  EXPECT_EQ(b.lost.load(), 1);  // no journal: the callback says so (the relay logs it)
  EXPECT_GT(kept->journal_size(), 0u);
  redis_.start();
  std::this_thread::sleep_for(300ms);  // past redis.reconnect_backoff
  EXPECT_EQ(kept->replay_journal(), 1u);
  EXPECT_TRUE(kept->get("down@example.com"));
}

TEST_F(OutcomeWriterTest, AFullQueueRefusesInsteadOfGrowing) {
  auto cfg = config(false);
  auto store = std::make_shared<SuppressionStore>(cfg->redis, cfg->suppression);
  store->ping();
  Done done;
  redis_.pause();
  {
    OutcomeWriter w(store, 2);
    ASSERT_TRUE(w.record(hard(*cfg, "a@example.com"), Millis(0), done.fn()));
    std::this_thread::sleep_for(50ms);  // the writer has taken it: its trip hangs
    EXPECT_TRUE(w.record(hard(*cfg, "b@example.com"), Millis(0), done.fn()));
    EXPECT_TRUE(w.record(hard(*cfg, "c@example.com"), Millis(0), done.fn()));
    const std::string before = Metrics::instance().render();
    EXPECT_FALSE(w.record(hard(*cfg, "d@example.com"), Millis(0), done.fn()));
    // Counted, so an operator sees that sessions are writing their own records.
    EXPECT_NE(Metrics::instance().render(), before);
    EXPECT_NE(Metrics::instance().render().find("bouncegate_outcome_writer_full_total"),
              std::string::npos);
    redis_.resume();
  }
  EXPECT_EQ(done.written.load() + done.lost.load(), 3);
}

// relay: kWriterLinger. Records nobody waits for, queued a few milliseconds apart, go in one
// round trip after the linger; an urgent one (a gate answer may change) goes at once with
// whatever is queued; flush() does not wait for the linger; stopping writes what lingers.
TEST_F(OutcomeWriterTest, DeliveriesLingerIntoOneTripAndAnUrgentRecordGoesAtOnce) {
  auto cfg = config(false);
  auto store = std::make_shared<SuppressionStore>(cfg->redis, cfg->suppression);
  store->ping();
  Done done;
  {
    OutcomeWriter w(store, 1000, Millis(400));
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(w.record(hard(*cfg, "d" + std::to_string(i) + "@example.com"), Millis(0),
                           done.fn(), false));
      std::this_thread::sleep_for(10ms);
    }
    // Still within the linger: nothing written yet, then all five in one trip.
    EXPECT_EQ(w.round_trips(), 0u);
    EXPECT_EQ(events(), 0);
    for (int i = 0; i < 100 && done.written.load() < 5; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(done.written.load(), 5);
    EXPECT_EQ(w.round_trips(), 1u);

    // An urgent record does not wait for the linger, and takes the lingering one with it.
    ASSERT_TRUE(w.record(hard(*cfg, "later@example.com"), Millis(0), done.fn(), false));
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(w.record(hard(*cfg, "gate@example.com"), Millis(0), done.fn(), true));
    for (int i = 0; i < 300 && done.written.load() < 7; ++i) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(done.written.load(), 7);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms);
    EXPECT_EQ(w.round_trips(), 2u);

    // flush() sends what lingers at once.
    ASSERT_TRUE(w.record(hard(*cfg, "flushed@example.com"), Millis(0), done.fn(), false));
    start = std::chrono::steady_clock::now();
    w.flush();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms);
    EXPECT_EQ(done.written.load(), 8);

    // Stopping writes what still lingers.
    ASSERT_TRUE(w.record(hard(*cfg, "last@example.com"), Millis(0), done.fn(), false));
  }
  EXPECT_EQ(done.written.load(), 9);
  EXPECT_EQ(done.lost.load(), 0);
  EXPECT_EQ(events(), 9);
  EXPECT_TRUE(store->get("last@example.com"));
}

}  // namespace
}  // namespace bouncegate
