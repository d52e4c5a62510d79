// Configuration loading: the minimal file, durations and sizes, and errors that name
// file:line:column and the key path for unknown keys, wrong types and out-of-range values.
#include <gtest/gtest.h>

#include "core/config.hpp"
#include "core/endpoint.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

std::string error_of(const std::string& yaml) {
  try {
    load_config_text(yaml, "/etc/bouncegate/test.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, MinimalFileWorks) {
  auto c = load_config_text(
      "redis: {address: 127.0.0.1:6379}\n"
      "suppression: {lease_ladder: [24h, 48h, 96h, 7d, 14d]}\n",
      "min.yaml");
  EXPECT_EQ(c->redis.host, "127.0.0.1");
  EXPECT_EQ(c->redis.port, 6379);
  ASSERT_EQ(c->suppression.lease_ladder.size(), 5u);
  EXPECT_EQ(c->suppression.lease_ladder[0], std::chrono::hours(24));
  EXPECT_EQ(c->suppression.lease_ladder[4], std::chrono::hours(24 * 14));
  EXPECT_EQ(c->suppression.action_for(OutcomeClass::hard), Action::suppress);
  EXPECT_EQ(c->suppression.action_for(OutcomeClass::reputation), Action::record);
  EXPECT_EQ(c->suppression.action_for(OutcomeClass::complaint), Action::suppress_permanent);
  EXPECT_EQ(c->milter.socket, "inet:8891@127.0.0.1");
  EXPECT_EQ(c->relay.listen.front(), "127.0.0.1:10025");
  EXPECT_EQ(c->redis.key_prefix, "bg:");
}

TEST(Config, RedisUnixSocketDatabasePrefixTimeout) {
  auto c = load_config_text(
      "redis: {address: 'unix:/run/redis/redis.sock', database: 3, key_prefix: 'x:', timeout: "
      "150ms}\n",
      "r.yaml");
  EXPECT_EQ(c->redis.unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(c->redis.database, 3);
  EXPECT_EQ(c->redis.key_prefix, "x:");
  EXPECT_EQ(c->redis.timeout, Millis(150));
}

TEST(Config, SecretIsReadFromFileAndCredentialsDirectory) {
  test::TempDir dir;
  std::string pw = dir.file("redis-pass", "s3cret\n");
  auto c = load_config_text("redis: {password_file: " + pw + "}\n", "s.yaml");
  EXPECT_EQ(c->redis.password, "s3cret");
  dir.file("creds/acs-secret", "acs-pass");
  setenv("CREDENTIALS_DIRECTORY", (dir.path() + "/creds").c_str(), 1);
  auto d =
      load_config_text("relay: {upstream: {username: u, password_file: acs-secret}}\n", "s.yaml");
  unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_EQ(d->relay.upstream.password, "acs-pass");
  // Without a credential of that name (the CLI, the ingest pipe, a unit that loads none), a
  // relative name is read beside the configuration file.
  dir.file("etc/acs-secret", "from-etc");
  setenv("CREDENTIALS_DIRECTORY", (dir.path() + "/creds-of-another-unit").c_str(), 1);
  auto e = load_config_text("relay: {upstream: {username: u, password_file: acs-secret}}\n",
                            dir.path() + "/etc/bouncegate.yaml");
  unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_EQ(e->relay.upstream.password, "from-etc");
  std::string err = error_of("redis: {password_file: /nonexistent/pw}\n");
  EXPECT_NE(err.find("cannot read secret file"), std::string::npos) << err;
  EXPECT_EQ(err.find("s3cret"), std::string::npos);
}

struct ErrorCase {
  const char* yaml;
  const char* must_contain;
};

class ConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrors, NameFileLineColumnAndKey) {
  std::string err = error_of(GetParam().yaml);
  ASSERT_FALSE(err.empty()) << "accepted: " << GetParam().yaml;
  EXPECT_NE(err.find(GetParam().must_contain), std::string::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigErrors,
    ::testing::Values(
        ErrorCase{"redis:\n  address: 127.0.0.1:6379\n  adress: x\n",
                  "/etc/bouncegate/test.yaml:3:3: redis.adress: unknown key"},
        ErrorCase{"redis: {}\nsupression: {}\n", "test.yaml:2:1: supression: unknown key"},
        ErrorCase{"suppression:\n  lease_ladder: [24h, soon]\n",
                  "test.yaml:2:23: suppression.lease_ladder: expected a duration"},
        ErrorCase{"suppression:\n  lease_ladder: [48h, 24h]\n", "must not shrink"},
        ErrorCase{"redis:\n  database: 99\n",
                  "test.yaml:2:13: redis.database: value 99 out of range"},
        ErrorCase{"redis:\n  database: three\n", "redis.database: expected an integer"},
        ErrorCase{"redis:\n  address: 'host:99999'\n", "redis.address: bad port"},
        ErrorCase{"milter:\n  on_store_error: maybe\n",
                  "test.yaml:2:19: milter.on_store_error: unknown value 'maybe'"},
        ErrorCase{"milter:\n  shadow: perhaps\n", "milter.shadow: expected true or false"},
        ErrorCase{"relay:\n  max_message_size: huge\n", "relay.max_message_size: expected a size"},
        ErrorCase{"relay:\n  allow: [127.0.0.0/8, 10.0.0.0/99]\n",
                  "test.yaml:2:24: relay.allow: not a network in CIDR form: '10.0.0.0/99'"},
        ErrorCase{"relay:\n  upstream:\n    tls: none\n", "relay.upstream.tls: 'none' sends"},
        ErrorCase{"relay:\n  upstream:\n    verify_hostname: false\n",
                  "test.yaml:3:22: relay.upstream.verify_hostname: false accepts any certificate"},
        ErrorCase{"relay:\n  bare_newline: strip\n", "relay.bare_newline"},
        ErrorCase{"suppression:\n  on_bad_address: pass\n", "suppression.on_bad_address"},
        ErrorCase{"feedback:\n  require_match: maybe\n", "feedback.require_match"},
        ErrorCase{"suppression:\n  actions: {hard: obliterate}\n",
                  "suppression.actions.hard: unknown action"},
        ErrorCase{"redis: [1, 2]\n", "redis: expected a mapping"},
        ErrorCase{"redis: {address: 127.0.0.1\n", "test.yaml:"}, ErrorCase{"", "the file is empty"},
        ErrorCase{"unsubscribe:\n  lists:\n    - {id: news}\n", "needs 'sender' or 'list_id'"},
        ErrorCase{"suppression:\n  reject_reply: 'hello'\n",
                  "test.yaml:2:17: suppression.reject_reply: must start with a 5xx code"},
        // Listen addresses are checked with the file, so check-config refuses what a daemon
        // would (one endpoint parser for relay, web and metrics).
        ErrorCase{"relay:\n  listen: [127.0.0.1:10025, 'localhost:25']\n",
                  "test.yaml:2:29: relay.listen: 'localhost:25': 'localhost' is not a numeric IP"},
        ErrorCase{"web:\n  listen: 127.0.0.1:99999\n", "web.listen: '127.0.0.1:99999': port"},
        ErrorCase{"metrics:\n  relay_listen: '::1:9100'\n", "written in brackets"},
        ErrorCase{"metrics:\n  web_listen: 127.0.0.1\n", "expected IP:PORT"}));

TEST(Endpoints, OneParserForEveryListener) {
  std::string why;
  auto v4 = parse_endpoint("127.0.0.1:10025", &why);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->port, 10025);
  EXPECT_TRUE(v4->loopback);
  auto v6 = parse_endpoint("[::1]:8025", &why);
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->ipv6 && v6->loopback);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(parse_endpoint("0.0.0.0:0", &why));
  EXPECT_TRUE(parse_endpoint("0.0.0.0:0", &why, true));
  EXPECT_FALSE(parse_endpoint("[127.0.0.1]:25", &why));
  EXPECT_FALSE(parse_endpoint("127.0.0.1:25x", &why));
}

TEST(Durations, ParseAndFormat) {
  EXPECT_EQ(parse_duration("90s"), Millis(90'000));
  EXPECT_EQ(parse_duration("24h"), Millis(86'400'000));
  EXPECT_EQ(parse_duration("7d"), Millis(7 * 86'400'000ll));
  EXPECT_EQ(parse_duration("250ms"), Millis(250));
  EXPECT_EQ(parse_duration("30"), Millis(30'000));
  EXPECT_FALSE(parse_duration("7 days"));
  EXPECT_FALSE(parse_duration("h"));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_EQ(format_duration(Millis(96 * 3'600'000ll)), "96h");
  EXPECT_EQ(format_duration(Millis(48 * 3'600'000ll)), "48h");
  EXPECT_EQ(format_duration(Millis(14 * 86'400'000ll)), "14d");
  EXPECT_EQ(format_duration(Millis(35 * 86'400'000ll)), "35d");
  EXPECT_EQ(format_duration(Millis(90'000)), "90s");
}

TEST(Sizes, Parse) {
  EXPECT_EQ(parse_size("10MB"), 10ull << 20);
  EXPECT_EQ(parse_size("512k"), 512ull << 10);
  EXPECT_EQ(parse_size("1GiB"), 1ull << 30);
  EXPECT_EQ(parse_size("100"), 100u);
  EXPECT_FALSE(parse_size("10 parsecs"));
}

TEST(Config, ShippedExamplesLoadAsTheyAre) {
  // The example must pass check-config on a fresh install, before any secret exists.
  for (const char* f : {"config/examples/bouncegate.yaml", "config/examples/quickstart.yaml"}) {
    std::string path = test::source_path(f);
    EXPECT_NO_THROW(load_config(path)) << path;
  }
}

}  // namespace
}  // namespace bouncegate
