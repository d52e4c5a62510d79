// The admin CLI through the built binary against a real redis-server: the bounce → lease →
// report story, import/export, exit codes for usage, not found, bad config and Redis down.
#include <gtest/gtest.h>

#include "core/config.hpp"
#include "core/store.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.file("bouncegate.yaml", test::config_yaml(redis_.port()));
  }
  test::RunResult cli(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {test::bin("bouncegate"), "--config", config_});
    return test::run(args, input);
  }
  test::RedisServer redis_;
  test::TempDir dir_;
  std::string config_;
};

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

TEST_F(CliTest, CheckConfigOkAndBadFileNamesLine) {
  auto ok = cli({"check-config"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  std::string bad = dir_.file("bad.yaml", "redis:\n  address: 127.0.0.1:6379\n  colour: blue\n");
  auto r = test::run({test::bin("bouncegate"), "--config", bad, "check-config"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_TRUE(has(r.err, bad + ":3:3: redis.colour: unknown key")) << r.err;
  auto missing =
      test::run({test::bin("bouncegate"), "--config", "/nonexistent.yaml", "check-config"});
  EXPECT_EQ(missing.exit_code, 78);
}

TEST_F(CliTest, ClassifyPrintsClassActionAndRule) {
  auto r = cli({"--json", "classify", "554 5.7.1 [CS01] Message rejected due to local policy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "\"class\":\"reputation\"")) << r.out;
  EXPECT_TRUE(has(r.out, "\"action\":\"record\""));
  EXPECT_TRUE(has(r.out, "\"rule\":\"icloud-local-policy\""));
  auto s = cli({"classify", "--command", "RCPT"}, "550 5.1.1 user unknown\n452 4.2.2 over quota\n");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_TRUE(has(s.out, "class=hard action=suppress"));
  EXPECT_TRUE(has(s.out, "class=soft action=record"));
}

TEST_F(CliTest, BounceLeaseAndGateStory) {
  auto rec =
      cli({"record", "Dead@Example.com", "--reply", "550 5.1.1 <dead@example.com>: user unknown",
           "--command", "RCPT", "--source", "relay", "--queue-id", "4XkQ9"});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  EXPECT_TRUE(has(rec.out, "class=hard action=suppress")) << rec.out;
  auto show = cli({"--json", "show", "dead@example.com"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_TRUE(has(show.out, "\"class\":\"hard\"")) << show.out;
  EXPECT_TRUE(has(show.out, "\"level\":0"));
  EXPECT_TRUE(has(show.out, "\"ttl_seconds\":86"));  // 86400 or 86399
  EXPECT_TRUE(has(show.out, "\"source\":\"relay\""));
  auto gate = cli({"gate", "dead@example.com"});
  ASSERT_EQ(gate.exit_code, 0) << gate.err;
  EXPECT_TRUE(has(gate.out, "decision=reject class=hard level=1 lease=48h")) << gate.out;
  EXPECT_TRUE(has(
      gate.out, "550 5.1.1 <dead@example.com>: recipient suppressed after hard bounce (550 5.1.1)"))
      << gate.out;
  auto list = cli({"list", "--domain", "example.com"});
  EXPECT_TRUE(has(list.out, "dead@example.com class=hard level=1")) << list.out;
  EXPECT_TRUE(has(list.out, "1 suppressed"));
  auto report = cli({"report", "--domain", "example.com", "--format", "csv"});
  ASSERT_EQ(report.exit_code, 0);
  EXPECT_TRUE(has(report.out, "timestamp_utc,recipient,domain,class,action,reply"));
  EXPECT_TRUE(has(report.out,
                  "dead@example.com,example.com,hard,suppress,550 5.1.1 <dead@example.com>: user "
                  "unknown,relay,4XkQ9"))
      << report.out;
  auto rm = cli({"remove", "dead@example.com"});
  EXPECT_EQ(rm.exit_code, 0);
  EXPECT_EQ(cli({"show", "dead@example.com"}).exit_code, 1);
  EXPECT_EQ(cli({"remove", "dead@example.com"}).exit_code, 1);
}

TEST_F(CliTest, ReputationEvidenceReportAndStats) {
  cli({"record", "a@icloud.com", "--reply", "554 5.7.1 [CS01] Message rejected due to local policy",
       "--command", "DATA-END", "--source", "relay", "--queue-id", "Q7"});
  cli({"record", "b@icloud.com", "--reply", "250 2.0.0 OK", "--command", "DATA-END"});
  EXPECT_EQ(cli({"show", "a@icloud.com"}).exit_code, 1);  // not suppressed
  auto report = cli({"report", "--domain", "icloud.com", "--class", "reputation", "--since", "7d",
                     "--format", "csv"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_TRUE(has(report.out,
                  "a@icloud.com,icloud.com,reputation,record,554 5.7.1 [CS01] Message rejected due "
                  "to local policy,relay,Q7"))
      << report.out;
  EXPECT_FALSE(has(report.out, "b@icloud.com"));
  auto stats = cli({"stats", "--since", "1d"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_TRUE(has(stats.out, "icloud.com 2 1 0 0 1 0 50.0% 0.0% 50.0%")) << stats.out;
}

TEST_F(CliTest, AddPermanentAndTtlThenExportImportRoundTrip) {
  ASSERT_EQ(cli({"add", "x@example.org", "--permanent", "--reason", "legal request"}).exit_code, 0);
  ASSERT_EQ(cli({"add", "y@example.org", "--ttl", "7d"}).exit_code, 0);
  auto y = cli({"--json", "show", "y@example.org"});
  EXPECT_TRUE(has(y.out, "\"ttl_seconds\":604")) << y.out;
  auto exported = cli({"export", "--format", "csv"});
  ASSERT_EQ(exported.exit_code, 0);
  EXPECT_TRUE(has(exported.out, "x@example.org,hard,suppress_permanent,0,-1"));
  std::string file = dir_.file("export.csv", exported.out);
  redis_.cli({"FLUSHALL"});
  auto imp = cli({"import", file});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  EXPECT_TRUE(has(imp.out, "2 rows imported"));
  EXPECT_EQ(cli({"--json", "import", "--dry-run", file}).out, "{\"valid\":2}\n");
  auto x = cli({"--json", "show", "x@example.org"});
  EXPECT_TRUE(has(x.out, "\"ttl_seconds\":-1")) << x.out;
  // A bad line rejects the whole file and names the line.
  std::string bad = dir_.file("bad.csv", "address\nok@example.org\nnot-an-address\n");
  auto r = cli({"import", bad});
  EXPECT_EQ(r.exit_code, 65);
  EXPECT_TRUE(has(r.err, bad + ":3:")) << r.err;
  EXPECT_EQ(cli({"show", "ok@example.org"}).exit_code, 1);
}

TEST_F(CliTest, ExitCodesForUsageAndRedisDown) {
  EXPECT_EQ(cli({"frobnicate"}).exit_code, 64);
  EXPECT_EQ(cli({"show"}).exit_code, 64);
  EXPECT_EQ(cli({"show", "not an address"}).exit_code, 64);
  EXPECT_EQ(cli({"list", "--class", "nonsense"}).exit_code, 64);
  redis_.stop();
  auto r = cli({"show", "a@example.com"});
  EXPECT_EQ(r.exit_code, 69);
  EXPECT_TRUE(has(r.err, "suppression store unavailable")) << r.err;
}

}  // namespace
// Texts from the network reach the operator's terminal escaped, and a multi-line quoted field
// (a webhook statusMessage, a folded reply) survives export and import as one row.
TEST_F(CliTest, StoredTextsAreEscapedAndCsvRoundTripsMultiLineFields) {
  auto cfg = load_config(config_);
  SuppressionStore store(cfg->redis, cfg->suppression);
  OutcomeRecord o;
  o.address = "gone@example.org";
  o.cls = OutcomeClass::hard;
  o.action = Action::suppress;
  o.code = "550 5.1.1";
  o.text = "550 5.1.1 gone\x1b]0;pwned\x07\x1b[2J\nsecond, \"quoted\"\ninjected@example.org,hard";
  o.ctx.source = Source::relay;
  store.record(o);
  auto show = cli({"show", "gone@example.org"});
  EXPECT_EQ(show.out.find('\x1b'), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find('\x07'), std::string::npos) << show.out;
  EXPECT_TRUE(has(show.out, "\\x1b")) << show.out;
  auto report = cli({"report"});
  EXPECT_EQ(report.out.find('\x1b'), std::string::npos) << report.out;
  auto exported = cli({"export"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_TRUE(has(exported.out, "\n")) << "the multi-line text stays one quoted field";
  ASSERT_EQ(cli({"remove", "gone@example.org"}).exit_code, 0);
  auto imported = cli({"import", "-"}, exported.out);
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_TRUE(has(imported.out, "1 rows imported")) << imported.out;
  EXPECT_FALSE(store.get("injected@example.org")) << "a line inside a quoted field is no row";
  auto e = store.get("gone@example.org");
  ASSERT_TRUE(e);
  EXPECT_TRUE(has(e->text, "second, \"quoted\"")) << e->text;
  // Stored once escaped, the text survives export and import unchanged (no doubled escapes).
  EXPECT_TRUE(has(e->text, "gone\\x1b]0;pwned")) << e->text;
  EXPECT_FALSE(has(e->text, "\\\\x1b")) << e->text;
  // An unterminated quote names its line and imports nothing.
  auto bad = cli({"import", "-"}, "address,text\nok@example.org,fine\nb@example.org,\"open\n");
  EXPECT_EQ(bad.exit_code, 65);
  EXPECT_TRUE(has(bad.err, "(stdin):3: quoted field opened on line 3")) << bad.err;
  EXPECT_FALSE(store.get("ok@example.org"));
}

// An operator can argue with a verdict: --explain names the evidence and why the class won.
TEST_F(CliTest, ClassifyExplainShowsEvidence) {
  auto r = cli({"classify", "--explain", "--command", "RCPT",
                "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "class=hard")) << r.out;
  EXPECT_TRUE(has(r.out, "phrase:     Recipient address rejected: User unknown")) << r.out;
  EXPECT_TRUE(has(r.out, "concerns:   recipient")) << r.out;
  EXPECT_TRUE(has(r.out, "read as:    5.1.1 : Recipient")) << "the address is taken out: " << r.out;
  EXPECT_TRUE(has(r.out, "outranked:  recipient-mailbox-dead -> hard"))
      << "the later rules that also matched are shown: " << r.out;
  auto j = cli(
      {"classify", "--explain", "--json", "554 5.7.1 [CS01] Message rejected due to local policy"});
  EXPECT_TRUE(has(j.out, "\"concerns\":\"sending_host\"")) << j.out;
  EXPECT_TRUE(has(j.out, "\"phrase\":\"[CS01]\"")) << j.out;
  EXPECT_TRUE(has(j.out, "\"outranked\":[{\"rule\":")) << j.out;
  auto bare = cli({"classify", "--explain", "550 Rejected"});
  EXPECT_TRUE(has(bare.out, "class=unknown")) << bare.out;
  EXPECT_TRUE(has(bare.out, "decided by codes")) << bare.out;
}

}  // namespace bouncegate
