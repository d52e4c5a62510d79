// `bouncegate ingest` as Postfix's pipe transport runs it: the built binary, one message on
// stdin, a real redis-server; outcomes checked with `bouncegate show` and the store API.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/dsn.hpp"
#include "core/store.hpp"
#include "tests/support/dsn_samples.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate::test {
namespace {

std::string corpus_message(const std::string& name) {
  const char* env = std::getenv("BOUNCEGATE_CORPUS");
  std::string dir = env ? env : source_path("../shared/corpus/sisimai");
  std::ifstream in(dir + "/eml/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << "corpus message " << name << " not found";
  return ss.str();
}

// A two-recipient RFC 3464 report (the first diagnostic folded); `action2`, `status2` and
// `diag2` shape the second recipient.
std::string crafted_dsn(const std::string& rcpt1, const std::string& rcpt2,
                        const std::string& action2, const std::string& status2,
                        const std::string& diag2) {
  return sample_dsn(
      {{rcpt1, "failed", "5.1.1",
        "550 5.1.1 <" + rcpt1 +
            ">: Recipient address rejected:\r\n User unknown in virtual mailbox table"},
       {rcpt2, action2, status2, diag2}});
}

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.file("bouncegate.yaml", config_yaml(redis_.port()));
    cfg_ = load_config(config_);
    store_ = std::make_unique<SuppressionStore>(cfg_->redis, cfg_->suppression);
  }
  RunResult ingest(const std::string& message, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {bin("bouncegate"), "--config", config_, "ingest"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, message);
  }
  RunResult show(const std::string& addr) {
    return run({bin("bouncegate"), "--config", config_, "--json", "show", addr});
  }
  // Records the report's original message as relayed here (what the relay writes to bg:mid:),
  // so that the report is tied to mail this site sent (feedback.require_match).
  void relayed(const std::string& report, const std::string& rcpts = "") {
    std::string mid = parse_feedback(report).original_message_id;
    ASSERT_FALSE(mid.empty()) << "the report names no original Message-ID";
    std::vector<std::string> list;
    if (!rcpts.empty()) list.push_back(rcpts);
    store_->remember_message(mid, {{"queue_id", "4Qrelayed"}}, list);
  }
  size_t outcome_events() {
    size_t n = 0;
    for (const auto& e : store_->events_since(0))
      if (e.get("kind") != "gate") ++n;
    return n;
  }

  RedisServer redis_;
  TempDir dir_;
  std::string config_;
  std::shared_ptr<const Config> cfg_;
  std::unique_ptr<SuppressionStore> store_;
};

TEST_F(IngestTest, HardBounceSuppressesAndDelayedDoesNot) {
  store_->remember_message("orig-42@example.com", {{"queue_id", "4XyZ1abc"}});
  auto r = ingest(crafted_dsn("gone@dest.example", "slow@dest.example", "delayed", "4.2.2",
                              "452 4.2.2 mailbox full"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto s = show("gone@dest.example");
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_NE(s.out.find("\"class\":\"hard\""), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("\"source\":\"dsn\""), std::string::npos) << s.out;
  EXPECT_EQ(show("slow@dest.example").exit_code, 1) << "a delayed DSN must not suppress";
  bool soft_seen = false, queue_linked = false;
  for (const auto& e : store_->events_since(0)) {
    if (e.get("addr") == "slow@dest.example" && e.get("class") == "soft") soft_seen = true;
    if (e.get("addr") == "gone@dest.example" && e.get("queue_id") == "4XyZ1abc")
      queue_linked = true;
  }
  EXPECT_TRUE(soft_seen);
  EXPECT_TRUE(queue_linked) << "the original Message-ID links back to the relay's queue id";
  // One log line per recipient.
  EXPECT_NE(r.err.find("rcpt=gone@dest.example"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rcpt=slow@dest.example"), std::string::npos) << r.err;
}

TEST_F(IngestTest, DeliveredRecipientIsNotSuppressed) {
  std::string dsn =
      crafted_dsn("gone@dest.example", "fine@dest.example", "delivered", "2.0.0", "250 2.0.0 ok");
  relayed(dsn);
  auto r = ingest(dsn);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(show("fine@dest.example").exit_code, 1);
  EXPECT_EQ(show("gone@dest.example").exit_code, 0);
}

TEST_F(IngestTest, CorpusDsnSuppressesItsRecipient) {
  relayed(corpus_message("rfc3464-01.eml"));
  auto r = ingest(corpus_message("rfc3464-01.eml"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto e = store_->get("userunknown@bouncehammer.jp");
  ASSERT_TRUE(e.has_value()) << r.err;
  EXPECT_EQ(e->cls, OutcomeClass::hard);
  EXPECT_EQ(e->source, "dsn");
}

TEST_F(IngestTest, ArfComplaintIsAPermanentEntry) {
  const std::string rcpt = "this-local-part-does-not-exist-on-yahoo@yahoo.com";
  relayed(corpus_message("arf-02.eml"), rcpt);
  auto r = ingest(corpus_message("arf-02.eml"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto e = store_->get(rcpt);
  ASSERT_TRUE(e.has_value()) << r.err;
  EXPECT_EQ(e->cls, OutcomeClass::complaint);
  EXPECT_EQ(e->source, "arf");
  EXPECT_EQ(e->ttl_ms, -1);
}

TEST_F(IngestTest, AutoReplyIsIgnoredWithExitZero) {
  auto r = ingest(corpus_message("rfc3834-01.eml"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("ignored"), std::string::npos) << r.err;
  EXPECT_EQ(outcome_events(), 0u);
}

TEST_F(IngestTest, GarbageIsDataErrorAndRecordsNothing) {
  EXPECT_EQ(ingest("this is not a mail message at all\n").exit_code, 65);
  EXPECT_EQ(ingest(std::string("\x89PNG\r\n\x1a\n\0\0\0", 11)).exit_code, 65);
  EXPECT_EQ(outcome_events(), 0u);
}

TEST_F(IngestTest, OversizedInputIsDataError) {
  // ingest stops reading at the limit; the rest of our write must fail with EPIPE, not kill us.
  signal(SIGPIPE, SIG_IGN);
  std::string huge = "Subject: x\r\n\r\n" + std::string(21u << 20, 'a');
  EXPECT_EQ(ingest(huge).exit_code, 65);
}

TEST_F(IngestTest, StoreDownIsTempFailAndTheRetryRecords) {
  std::string dsn = crafted_dsn("gone@dest.example", "also@dest.example", "failed", "5.1.1",
                                "550 5.1.1 user unknown");
  relayed(dsn);
  redis_.stop();
  auto r = ingest(dsn);
  EXPECT_EQ(r.exit_code, 75) << r.err;
  redis_.start();
  relayed(dsn);  // the restarted redis-server starts empty
  EXPECT_EQ(outcome_events(), 0u);
  EXPECT_EQ(ingest(dsn).exit_code, 0);
  EXPECT_TRUE(store_->get("gone@dest.example").has_value());
  EXPECT_TRUE(store_->get("also@dest.example").has_value());
}

TEST_F(IngestTest, DryRunPrintsAndWritesNothing) {
  redis_.stop();  // dry run never needs the store
  auto r = ingest(corpus_message("rfc3464-01.eml"), {"--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"address\":\"userunknown@bouncehammer.jp\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"class\":\"hard\""), std::string::npos) << r.out;
}

TEST_F(IngestTest, BadConfigIsExit78) {
  std::string bad = dir_.file("bad.yaml", "redis: {adress: x}\n");
  auto r = run({bin("bouncegate"), "--config", bad, "ingest"}, corpus_message("rfc3464-01.eml"));
  EXPECT_EQ(r.exit_code, 78);
}

}  // namespace
}  // namespace bouncegate::test

namespace bouncegate::test {
namespace {

TEST_F(IngestTest, SameReportTwiceIsRecordedOnce) {
  std::string dsn = crafted_dsn("gone@dest.example", "also@dest.example", "failed", "5.1.1",
                                "550 5.1.1 user unknown");
  relayed(dsn);
  ASSERT_EQ(ingest(dsn).exit_code, 0);
  size_t after_first = outcome_events();
  // Postfix retrying after a partial failure, or the MTA sending the report twice.
  auto again = ingest(dsn);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(outcome_events(), after_first);
  EXPECT_NE(again.err.find("already recorded from this report"), std::string::npos) << again.err;
  auto e = store_->get("gone@dest.example");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->level, 0);
}

}  // namespace
}  // namespace bouncegate::test

namespace bouncegate::test {
namespace {

// Forged feedback: anyone can mail the bounce address. A complaint or bounce for a message
// never relayed here, or for a recipient that message never had, is recorded (verified=no),
// counted, shown by `report`, and suppresses nobody.
TEST_F(IngestTest, ForgedReportsAreRecordedUnverifiedAndSuppressNobody) {
  // An ARF complaint whose original message has no Message-ID, and one whose Message-ID was
  // never relayed here.
  auto arf = ingest(corpus_message("arf-01.eml"));
  EXPECT_EQ(arf.exit_code, 0) << arf.err;
  EXPECT_FALSE(store_->get("redacted@example.net")) << arf.err;
  EXPECT_NE(arf.err.find("not tied to relayed mail"), std::string::npos) << arf.err;
  auto arf2 = ingest(corpus_message("arf-02.eml"));
  EXPECT_EQ(arf2.exit_code, 0) << arf2.err;
  EXPECT_FALSE(store_->get("this-local-part-does-not-exist-on-yahoo@yahoo.com")) << arf2.err;
  // A DSN naming a real relayed Message-ID, but a recipient that message was not sent to.
  std::string dsn = crafted_dsn("victim@dest.example", "gone@dest.example", "failed", "5.1.1",
                                "550 5.1.1 user unknown");
  relayed(dsn, "gone@dest.example");
  EXPECT_EQ(ingest(dsn).exit_code, 0);
  EXPECT_FALSE(store_->get("victim@dest.example"));
  EXPECT_TRUE(store_->get("gone@dest.example")) << "the genuine recipient still counts";
  int unverified = 0, verified = 0;
  for (const auto& e : store_->events_since(0)) {
    if (e.get("verified") == "no") ++unverified;
    if (e.get("verified") == "yes") ++verified;
    if (e.get("addr") == "victim@dest.example") {
      EXPECT_EQ(e.get("action"), "record");
    }
  }
  EXPECT_EQ(unverified, 3);
  EXPECT_EQ(verified, 1);
  auto stats = store_->stats(0, "");
  EXPECT_EQ(stats["dest.example"]["unverified"], 1);
  EXPECT_EQ(stats["example.net"]["unverified"], 1);
  EXPECT_EQ(stats["example.net"].count("complaint"), 0u);
  auto rep = run({bin("bouncegate"), "--config", config_, "report", "--format", "csv"});
  EXPECT_NE(rep.out.find("victim@dest.example"), std::string::npos) << rep.out;
  EXPECT_NE(rep.out.find(",no"), std::string::npos) << rep.out;
}

TEST_F(IngestTest, RequireMatchOffActsOnEveryReport) {
  std::string cfg =
      dir_.file("open.yaml", config_yaml(redis_.port()) + "feedback: {require_match: false}\n");
  auto r = run({bin("bouncegate"), "--config", cfg, "ingest"}, corpus_message("arf-01.eml"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto e = store_->get("redacted@example.net");
  ASSERT_TRUE(e) << r.err;
  EXPECT_EQ(e->cls, OutcomeClass::complaint);
}

// One Message-ID sent in two transactions (Postfix splits at 50 recipients): a report about a
// recipient of the first batch still matches after the second batch was recorded.
TEST_F(IngestTest, RecipientsOfEveryTransactionOfAMessageAreKept) {
  std::string dsn = crafted_dsn("first@dest.example", "second@dest.example", "failed", "5.1.1",
                                "550 5.1.1 user unknown");
  std::string mid = parse_feedback(dsn).original_message_id;
  store_->remember_message(mid, {{"queue_id", "4Qa"}}, {"first@dest.example"});
  store_->remember_message(mid, {{"queue_id", "4Qb"}}, {"second@dest.example"});
  EXPECT_EQ(ingest(dsn).exit_code, 0);
  EXPECT_TRUE(store_->get("first@dest.example"));
  EXPECT_TRUE(store_->get("second@dest.example"));
}

}  // namespace
}  // namespace bouncegate::test
