// The operator's CLI through the built binary and a real redis-server: class -> action for adds
// and imports, import/export round trips in both formats, imports counted apart from outcomes,
// unsubscriptions in every view, --help and --version, stats over time, report windows and the
// support-case bundle.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "cli/cli.hpp"
#include "core/config.hpp"
#include "core/store.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

class CliOperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.file("bouncegate.yaml", test::config_yaml(redis_.port()));
  }
  test::RunResult cli(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {test::bin("bouncegate"), "--config", config_});
    return test::run(args, input);
  }
  // Export lines without the fields that move with the clock.
  std::vector<std::string> stable_export_json() {
    auto r = cli({"--json", "export"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> lines;
    std::istringstream in(r.out);
    for (std::string l; std::getline(in, l);) {
      for (const char* k : {"\"ttl_seconds\":", "\"expires_at\":", "\"lease\":"}) {
        auto p = l.find(k);
        if (p == std::string::npos) continue;
        auto e = l.find(',', p);
        l.erase(p, e - p + 1);
      }
      lines.push_back(l);
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  }
  test::RedisServer redis_;
  test::TempDir dir_;
  std::string config_;
};

TEST_F(CliOperatorTest, AddAndImportFollowTheClassAction) {
  auto add = cli({"--json", "add", "angry@example.org", "--class", "complaint"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_TRUE(has(add.out, "\"action\":\"suppress_permanent\"")) << add.out;
  EXPECT_TRUE(has(add.out, "\"ttl_seconds\":-1")) << add.out;
  EXPECT_EQ(cli({"add", "angry2@example.org", "--class", "complaint", "--ttl", "7d"}).exit_code,
            64);

  std::string file = dir_.file("rows.csv",
                               "address,class,list\n"
                               "fbl@example.org,complaint,\n"
                               "leaver@example.org,unsubscribe,news\n");
  auto imp = cli({"import", file});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  EXPECT_TRUE(has(cli({"--json", "show", "fbl@example.org"}).out, "\"ttl_seconds\":-1"));
  // An unsubscribe row is an unsubscription from its list, never a "hard bounce" lease.
  auto leaver = cli({"--json", "show", "leaver@example.org"});
  EXPECT_TRUE(has(leaver.out, "\"suppressed\":false")) << leaver.out;
  EXPECT_TRUE(has(leaver.out, "\"news\":{\"at\":")) << leaver.out;
  auto gate = cli({"gate", "leaver@example.org", "--list", "news"});
  EXPECT_TRUE(has(gate.out, "decision=unsubscribed")) << gate.out;
  EXPECT_FALSE(has(gate.out, "hard bounce")) << gate.out;
  EXPECT_TRUE(has(cli({"gate", "leaver@example.org", "--list", "digest"}).out, "decision=pass"));
}

TEST_F(CliOperatorTest, JsonLinesAndCsvRoundTripEveryRow) {
  ASSERT_EQ(cli({"add", "x@example.org", "--permanent", "--reason", "legal request"}).exit_code, 0);
  ASSERT_EQ(cli({"add", "y@example.org", "--ttl", "7d", "--code", "550 5.1.1", "--reason",
                 "=HYPERLINK(\"http://evil.example\")"})
                .exit_code,
            0);
  ASSERT_EQ(cli({"add", "u@example.org", "--class", "unsubscribe", "--list", "news"}).exit_code, 0);
  ASSERT_EQ(cli({"add", "*@held.example", "--permanent", "--subdomains"}).exit_code, 0);
  auto cfg = load_config(config_);
  SuppressionStore store(cfg->redis, cfg->suppression);
  OutcomeRecord o;
  o.address = "zoë@example.org";
  o.cls = OutcomeClass::hard;
  o.action = Action::suppress;
  o.code = "550 5.1.1";
  o.text = "550-5.1.1 Benutzer unbekannt, \"Grüße\"\n550 5.1.1 zweite Zeile";
  store.record(o);
  const auto before = stable_export_json();
  ASSERT_EQ(before.size(), 5u);

  for (const char* format : {"json", "csv"}) {
    auto exported = cli({"export", "--format", format});
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    redis_.cli({"FLUSHALL"});
    auto imp = cli({"import", "-"}, exported.out);
    ASSERT_EQ(imp.exit_code, 0) << format << ": " << imp.err;
    EXPECT_TRUE(has(imp.out, "5 rows imported")) << imp.out;
    EXPECT_EQ(stable_export_json(), before) << format;
    EXPECT_TRUE(has(cli({"gate", "a@mx.held.example"}).out, "decision=reject")) << format;
  }
  // A text a spreadsheet would run as a formula is exported guarded, and restored on import.
  auto csv = cli({"export", "--format", "csv"}).out;
  EXPECT_TRUE(has(csv, "\"'=HYPERLINK(")) << csv;
  EXPECT_FALSE(has(csv, ",=HYPERLINK") || has(csv, ",\"=HYPERLINK")) << csv;
  // The JSON form is read as JSON: no address is taken from a brace.
  EXPECT_FALSE(has(cli({"list"}).out, "{")) << cli({"list"}).out;
}

TEST_F(CliOperatorTest, DomainEntriesByHand) {
  auto add = cli({"--json", "add", "*@Gone.Example.", "--class", "hard", "--reason", "NXDOMAIN"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_TRUE(has(add.out, "\"address\":\"*@gone.example\"")) << add.out;
  EXPECT_TRUE(has(add.out, "\"subdomains\":false")) << add.out;
  auto gate = cli({"gate", "anyone@gone.example"});
  EXPECT_TRUE(has(gate.out, "decision=reject")) << gate.out;
  EXPECT_TRUE(has(cli({"gate", "x@sub.gone.example"}).out, "decision=pass"));
  EXPECT_TRUE(has(cli({"show", "*@gone.example"}).out, "covers=the domain\n"));
  // Refused: sub-domains of a mailbox, a top-level domain, a domain-wide unsubscription.
  EXPECT_EQ(cli({"add", "a@b.example", "--subdomains"}).exit_code, 64);
  EXPECT_EQ(cli({"add", "*@com", "--permanent"}).exit_code, 64);
  EXPECT_EQ(cli({"add", "*@b.example", "--class", "unsubscribe"}).exit_code, 64);
  auto bad = cli({"import", dir_.file("bad.csv", "address,subdomains\nme@b.example,1\n")});
  EXPECT_EQ(bad.exit_code, 65) << bad.out << bad.err;
  EXPECT_EQ(cli({"remove", "*@gone.example"}).exit_code, 0);
  EXPECT_TRUE(has(cli({"gate", "anyone@gone.example"}).out, "decision=pass"));
}

TEST_F(CliOperatorTest, ImportsAreCountedApartWithOneSummaryEvent) {
  cli({"record", "real@bulk.example", "--reply", "550 5.1.1 user unknown"});
  std::string rows = "address\n";
  for (int i = 0; i < 50; ++i) rows += "u" + std::to_string(i) + "@bulk.example\n";
  auto imp = cli({"import", dir_.file("bulk.csv", rows)});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  EXPECT_TRUE(has(imp.out, "50 rows imported"));
  // One real bounce out of one outcome; the 50 imported rows are operator entries.
  auto stats = cli({"--json", "stats", "--domain", "bulk.example"});
  EXPECT_TRUE(has(stats.out, "\"total\":1,")) << stats.out;
  EXPECT_TRUE(has(stats.out, "\"hard\":1,")) << stats.out;
  EXPECT_TRUE(has(stats.out, "\"operator_entries\":50")) << stats.out;
  auto report = cli({"report", "--format", "csv"});
  EXPECT_EQ(count_of(report.out, ",import,,,,,\n"), 1u) << report.out;
  EXPECT_EQ(count_of(report.out, "@bulk.example"), 1u) << "rows write no event each";
}

// On a terminal, import and export show a progress line (rows, rows/s, ETA) and a summary;
// `script` (util-linux, always installed) gives the process a real pseudo-terminal.
TEST_F(CliOperatorTest, ProgressLineOnATerminalOnly) {
  std::string rows = "address\n";
  for (int i = 0; i < 3000; ++i) rows += "p" + std::to_string(i) + "@progress.example\n";
  std::string file = dir_.file("rows.csv", rows);
  std::string cmd = test::bin("bouncegate") + " --config " + config_ + " import " + file;
  auto tty = test::run({"script", "-qec", cmd, "/dev/null"});
  ASSERT_EQ(tty.exit_code, 0) << tty.out << tty.err;
  EXPECT_TRUE(has(tty.out, "rows/s")) << tty.out;
  EXPECT_TRUE(has(tty.out, "ETA")) << tty.out;
  EXPECT_TRUE(has(tty.out, "import: 3000 rows in")) << tty.out;
  auto plain = cli({"import", file});
  EXPECT_FALSE(has(plain.err, "rows/s")) << "no progress line when stderr is not a terminal";
  auto exp = test::run({"script", "-qec",
                        test::bin("bouncegate") + " --config " + config_ + " export", "/dev/null"});
  EXPECT_TRUE(has(exp.out, "export: 3000 rows in")) << exp.out;
}

TEST_F(CliOperatorTest, OneLeaseFormatterInListShowAndGate) {
  cli({"record", "dead@example.com", "--reply", "550 5.1.1 user unknown"});
  auto list = cli({"list"});
  EXPECT_TRUE(has(list.out, "lease=24h")) << list.out;
  EXPECT_TRUE(has(cli({"show", "dead@example.com"}).out, "lease=24h"));
  EXPECT_TRUE(has(cli({"gate", "dead@example.com"}).out, "lease=48h"));
}

TEST_F(CliOperatorTest, UnsubscriptionsInEveryViewAndResubscribe) {
  auto web = cli({"add", "r@example.org", "--class", "unsubscribe", "--list", "news"});
  ASSERT_EQ(web.exit_code, 0) << web.err;
  cli({"add", "r@example.org", "--class", "unsubscribe", "--list", "digest"});
  cli({"record", "r@example.org", "--reply", "550 5.1.1 user unknown"});
  auto show = cli({"show", "r@example.org"});
  EXPECT_TRUE(has(show.out, "unsubscribed list=digest at=")) << show.out;
  EXPECT_TRUE(has(show.out, "unsubscribed list=news at=")) << show.out;
  EXPECT_TRUE(has(show.out, "source=cli")) << show.out;
  auto list = cli({"list", "--list", "news"});
  EXPECT_TRUE(has(list.out, "r@example.org unsubscribed list=news")) << list.out;
  EXPECT_FALSE(has(list.out, "list=digest")) << list.out;
  EXPECT_TRUE(has(cli({"export"}).out, ",news,\n"));

  auto re = cli({"resubscribe", "r@example.org", "--list", "news"});
  EXPECT_EQ(re.exit_code, 0) << re.err;
  EXPECT_EQ(cli({"resubscribe", "r@example.org", "--list", "news"}).exit_code, 1);
  EXPECT_EQ(cli({"remove", "r@example.org", "--list", "digest"}).exit_code, 0);
  show = cli({"show", "r@example.org"});
  EXPECT_FALSE(has(show.out, "unsubscribed")) << show.out;
  EXPECT_TRUE(has(show.out, "class=hard")) << "remove --list leaves the suppression";
  EXPECT_TRUE(has(cli({"report"}).out, "kind=resubscribe"));
}

TEST_F(CliOperatorTest, HelpOnEveryVerbListsEveryOptionAndVersionEverywhere) {
  for (const auto& v : cli::verb_table()) {
    auto r = test::run({test::bin("bouncegate"), v.name, "--help"});
    EXPECT_EQ(r.exit_code, 0) << v.name << ": " << r.err;
    for (const auto& o : v.options)
      EXPECT_TRUE(has(r.out, "--" + o.name)) << v.name << " --" << o.name;
  }
  auto top = test::run({test::bin("bouncegate"), "--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_TRUE(has(top.out, "BOUNCEGATE_CONFIG")) << top.out;
  EXPECT_EQ(test::run({test::bin("bouncegate"), "show", "--nonsense"}).exit_code, 64);
  for (const char* b : {"bouncegate", "bouncegate-milter", "bouncegate-relay", "bouncegate-web"}) {
    auto v = test::run({test::bin(b), "--version"});
    EXPECT_EQ(v.exit_code, 0) << b << ": " << v.err;
    EXPECT_TRUE(has(v.out, std::string(b) + " 0.")) << b << ": " << v.out;
    auto h = test::run({test::bin(b), "--help"});
    EXPECT_EQ(h.exit_code, 0) << b << ": " << h.err;
    EXPECT_TRUE(has(h.out, "--config")) << b << ": " << h.out;
  }
}

// One check in every binary: what one --check-config refuses, all four refuse, with the file.
TEST_F(CliOperatorTest, CheckConfigIsTheSameInEveryBinary) {
  const std::string base = test::config_yaml(redis_.port());
  std::string missing_key =
      dir_.file("k.yaml", base + "unsubscribe: {key_files: [" + dir_.path() + "/no-such.key]}\n");
  std::string bad_listen = dir_.file("l.yaml", base + "web: {listen: 'localhost:8025'}\n");
  for (const std::string& file : {missing_key, bad_listen}) {
    auto cli_rc = test::run({test::bin("bouncegate"), "--config", file, "check-config"});
    EXPECT_EQ(cli_rc.exit_code, 78) << file << ": " << cli_rc.out << cli_rc.err;
    for (const char* d : {"bouncegate-milter", "bouncegate-relay", "bouncegate-web"}) {
      auto r = test::run({test::bin(d), "--config", file, "--check-config"});
      EXPECT_EQ(r.exit_code, 78) << d << " " << file << ": " << r.out << r.err;
    }
  }
  // The default upstream is ACS: the relay (the binary that signs in) refuses it without a
  // username, and says what to set where; the other binaries do not need it.
  auto unsigned_in =
      test::run({test::bin("bouncegate-relay"), "--config", config_, "--check-config"});
  EXPECT_EQ(unsigned_in.exit_code, 78);
  EXPECT_TRUE(has(unsigned_in.err, "relay.upstream.username is empty")) << unsigned_in.err;
  EXPECT_TRUE(has(unsigned_in.err, "password_file")) << unsigned_in.err;
  EXPECT_EQ(
      test::run({test::bin("bouncegate-web"), "--config", config_, "--check-config"}).exit_code, 0);
  std::string secret = dir_.file("acs-smtp-password", "entra-client-secret\n");
  std::string signed_in = dir_.file(
      "signed.yaml",
      base + "relay: {upstream: {username: relay-sender, password_file: " + secret + "}}\n");
  auto ok = test::run({test::bin("bouncegate-relay"), "--config", signed_in, "--check-config"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(has(ok.out, signed_in + ": ok (")) << ok.out;
}

TEST_F(CliOperatorTest, StatsByHourAndDayWithTrendAndFormats) {
  cli({"record", "a@icloud.com", "--reply", "554 5.7.1 [CS01] Message rejected due to local policy",
       "--command", "DATA-END"});
  cli({"record", "b@icloud.com", "--reply", "250 2.0.0 OK", "--command", "DATA-END"});
  auto table = cli({"stats", "--since", "1d"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(has(table.out, "trend(bounce|block)")) << table.out;
  EXPECT_TRUE(has(table.out, "█")) << "the block rate of this hour tops the trend: " << table.out;
  auto hour = cli({"stats", "--by", "hour", "--format", "csv", "--since", "2h"});
  ASSERT_EQ(hour.exit_code, 0) << hour.err;
  EXPECT_TRUE(has(hour.out, "hour,domain,total")) << hour.out;
  EXPECT_TRUE(has(hour.out, ",icloud.com,2,1,0,0,1,0,50.0%,0.0%,50.0%")) << hour.out;
  auto day = cli({"--json", "stats", "--by", "day"});
  EXPECT_TRUE(has(day.out, "\"day\":\"20")) << day.out;
  // A window that ended before anything happened holds nothing.
  auto past = cli({"stats", "--since", "2020-01-01", "--until", "2020-01-02", "--format", "csv"});
  ASSERT_EQ(past.exit_code, 0) << past.err;
  EXPECT_FALSE(has(past.out, "icloud.com")) << past.out;
  EXPECT_EQ(cli({"stats", "--since", "yesterday"}).exit_code, 64);
}

TEST_F(CliOperatorTest, ReportFiltersAndSupportCaseBundle) {
  cli({"record", "a@icloud.com", "--reply", "554 5.7.1 [CS01] Message rejected due to local policy",
       "--command", "DATA-END", "--source", "relay", "--queue-id", "Q1", "--message-id",
       "<m1@example.com>"});
  cli({"record", "b@icloud.com", "--reply", "554 5.7.1 [CS01] Message rejected due to local policy",
       "--command", "DATA-END", "--source", "relay", "--queue-id", "Q2"});
  cli({"record", "c@icloud.com", "--reply", "550 5.1.1 user unknown", "--source", "dsn"});
  EXPECT_TRUE(has(cli({"report", "--source", "dsn"}).out, "1 events"));
  EXPECT_TRUE(has(cli({"report", "--until", "2020-01-01"}).out, "0 events"));
  EXPECT_TRUE(has(cli({"report", "--address", "B@icloud.com"}).out, "1 events"));
  EXPECT_EQ(cli({"report", "--source", "carrier-pigeon"}).exit_code, 64);

  std::string out = dir_.path() + "/case";
  auto c = cli({"report", "--case", "iCloud.com", "--out", out});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_TRUE(has(c.out, "2 blocked replies (1 distinct)")) << c.out;
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  std::string md = slurp(out + "/README.md");
  EXPECT_TRUE(has(md, "# Delivery blocked by icloud.com")) << md;
  EXPECT_TRUE(has(md, "554 5.7.1 [CS01] Message rejected due to local policy")) << md;
  EXPECT_TRUE(has(md, "<m1@example.com>")) << md;
  EXPECT_TRUE(has(md, "| 2 |")) << md;
  EXPECT_FALSE(has(md, "c@icloud.com")) << "a dead address is not a block";
  std::string csv = slurp(out + "/replies.csv");
  EXPECT_EQ(count_of(csv, "\n"), 3u) << csv;
  EXPECT_TRUE(has(csv, "Q1") && has(csv, "Q2")) << csv;
  std::string daily = slurp(out + "/daily.csv");
  EXPECT_TRUE(has(daily, ",reputation,2\n")) << daily;
}

}  // namespace
}  // namespace bouncegate
