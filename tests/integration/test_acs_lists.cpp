// ACS's customer-managed suppression lists end to end: `bouncegate acs pull` and the push from
// the built bouncegate-web, against a stand-in for Azure Resource Manager
// (tests/web/arm_standin.py: the documented suppressionLists / suppressionListAddresses
// shapes, paging, throttling, bearer tokens) and the stand-in Entra token endpoint, both over
// HTTPS with a test CA, and a real Redis.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "core/acs_lists.hpp"
#include "core/config.hpp"
#include "core/json_parse.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/test_ca.hpp"

namespace bouncegate::test {
namespace {

constexpr const char* kClientId = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
constexpr const char* kTenant = "11111111-2222-3333-4444-555555555555";
constexpr const char* kSubscription = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
constexpr const char* kSecret = "arm-client-secret-0123456789";

class AcsLists : public ::testing::Test {
 protected:
  // `seed`: the lists' contents before the test (arm_standin.py's STATE shape); `throttle`:
  // the first requests that get 429.
  void start(const std::string& seed, int throttle = 0, bool push = false) {
    ca_ = make_test_ca(dir_.path(), "t");
    tokens_ = dir_.path() + "/tokens";
    std::ofstream(tokens_).close();
    tport_ = free_port();
    endpoint_ = std::make_unique<DaemonProcess>(
        std::vector<std::string>{
            "python3", source_path("tests/web/token_endpoint.py"), std::to_string(tport_),
            ca_.server_cert, ca_.server_key, kClientId, kSecret, ca_.server_cert, "3600", tokens_,
            dir_.path() + "/token-requests.jsonl", "https://management.azure.com/.default"},
        dir_.path() + "/endpoint.log");
    ASSERT_TRUE(wait_for_port(tport_, 10000)) << endpoint_->log();
    aport_ = free_port();
    seed_ = dir_.file("seed.json", seed);
    throttle_ = throttle;
    start_arm(true);
    dir_.file("arm.secret", std::string(kSecret) + "\n");
    wport_ = free_port();
    config_ = dir_.file(
        "bouncegate.yaml",
        config_yaml(redis_.port(), "[24h, 48h, 96h, 7d, 14d]",
                    "web:\n  listen: 127.0.0.1:" + std::to_string(wport_) +
                        "\nwebhooks: {backoff: 200ms, backoff_max: 1s}\n"
                        "acs:\n  suppression_lists:\n    subscription_id: " +
                        kSubscription +
                        "\n    resource_group: mail-rg\n    email_service: mail-es\n"
                        "    endpoint: https://localhost:" +
                        std::to_string(aport_) + "\n    ca_file: " + ca_.ca_cert +
                        "\n    push: " + (push ? "true" : "false") +
                        "\n    requests_per_second: 50\n    retry_max: 500ms\n    max_attempts: 4\n"
                        "    lists:\n"
                        "      - {domain: mail.example.com, list: bouncegate, list_name: ''}\n"
                        "      - {domain: news.example.com, list: bg-news, list_name: news, "
                        "pull_list: news}\n"
                        "    entra:\n      tenant_id: " +
                        kTenant + "\n      client_id: " + kClientId +
                        "\n      client_secret_file: arm.secret\n      token_endpoint: "
                        "https://localhost:" +
                        std::to_string(tport_) + "/" + kTenant +
                        "/oauth2/v2.0/token\n      ca_file: " + ca_.ca_cert + "\n"));
  }
  void start_arm(bool seeded, const std::string& next_host = "") {
    std::vector<std::string> argv = {"python3",
                                     source_path("tests/web/arm_standin.py"),
                                     std::to_string(aport_),
                                     ca_.server_cert,
                                     ca_.server_key,
                                     tokens_,
                                     dir_.path() + "/state.json",
                                     dir_.path() + "/arm.jsonl",
                                     "2",
                                     std::to_string(throttle_)};
    if (seeded)
      argv.push_back(seed_);
    else
      argv.push_back(dir_.path() + "/state.json");  // restarted: what it held
    if (!next_host.empty()) argv.insert(argv.begin(), {"env", "ARM_NEXTLINK_HOST=" + next_host});
    arm_ = std::make_unique<DaemonProcess>(argv, dir_.path() + "/arm.log");
    ASSERT_TRUE(wait_for_port(aport_, 10000)) << arm_->log();
  }
  RunResult cli(std::vector<std::string> args) {
    args.insert(args.begin(), {bin("bouncegate"), "--config", config_});
    return run(args);
  }
  // The email addresses on one list of the stand-in ("" when the list does not exist).
  std::set<std::string> on_list(const std::string& key) {
    std::ifstream in(dir_.path() + "/state.json");
    std::stringstream b;
    b << in.rdbuf();
    std::string why;
    auto doc = parse_json(b.str(), &why);
    std::set<std::string> out;
    if (!doc) return out;
    const JsonValue* l = doc->find(key);
    const JsonValue* a = l ? l->find("addresses") : nullptr;
    if (a)
      for (const auto& [id, email] : a->members) out.insert(email.text);
    return out;
  }
  int arm_requests(const std::string& needle) {
    std::ifstream in(dir_.path() + "/arm.jsonl");
    int n = 0;
    for (std::string l; std::getline(in, l);) n += l.find(needle) != std::string::npos;
    return n;
  }
  bool eventually(const std::function<bool()>& f, int ms = 15000) {
    for (int i = 0; i < ms / 100; ++i) {
      if (f()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return f();
  }

  RedisServer redis_;
  TempDir dir_;
  TestCa ca_;
  std::string tokens_, config_, seed_;
  int tport_ = 0, aport_ = 0, wport_ = 0, throttle_ = 0;
  std::unique_ptr<DaemonProcess> endpoint_, arm_;
};

const char* kSeed = R"({
 "mail.example.com/bouncegate": {"listName": "", "addresses": {
   "a1": "one@example.net", "a2": "Mixed@Example.NET", "a3": "three@example.org",
   "a4": "not-an-address", "a5": "five@example.org"}},
 "news.example.com/bg-news": {"listName": "news", "addresses": {"b1": "news@example.net"}}
})";

TEST_F(AcsLists, PullImportsEveryPageOnceAndADryRunWritesNothing) {
  start(kSeed, /*throttle=*/2);
  RunResult dry = cli({"acs", "pull", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err << arm_->log() << endpoint_->log();
  EXPECT_NE(dry.out.find("would add mixed@example.net"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("mail.example.com/bouncegate: 5 addresses, 4 would be added"),
            std::string::npos)
      << dry.out;
  EXPECT_NE(dry.err.find("skipped 'not-an-address'"), std::string::npos) << dry.err;
  EXPECT_EQ(cli({"show", "one@example.net"}).exit_code, 1) << "a dry run writes nothing";
  EXPECT_EQ(arm_requests("\"status\": 429"), 2) << "the throttled requests were retried";

  RunResult pull = cli({"acs", "pull"});
  EXPECT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find("mail.example.com/bouncegate: 5 addresses, 4 added"), std::string::npos)
      << pull.out;
  EXPECT_NE(pull.out.find("news.example.com/bg-news: 1 addresses, 1 added"), std::string::npos);
  RunResult show = cli({"--json", "show", "mixed@example.net"});
  EXPECT_EQ(show.exit_code, 0);
  EXPECT_NE(show.out.find("suppress_permanent"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("on ACS suppression list mail.example.com/bouncegate"), std::string::npos)
      << show.out;
  // Paged by two: three pages for the first list, one for the second, each read once (the
  // dry run and the pull: twice in all).
  EXPECT_EQ(arm_requests("skipToken=4"), 2);
  EXPECT_EQ(arm_requests("skipToken=2"), 2);
  // The sender-scoped list comes in as unsubscribes from its bouncegate list, not as a block.
  RunResult news = cli({"show", "news@example.net"});
  EXPECT_EQ(news.exit_code, 0) << news.out;
  EXPECT_NE(news.out.find("news"), std::string::npos) << news.out;
  RunResult gate_other = cli({"gate", "news@example.net"});
  EXPECT_EQ(gate_other.exit_code, 0) << "other senders' mail still passes: " << gate_other.out;

  RunResult again = cli({"acs", "pull"});
  EXPECT_NE(again.out.find("5 addresses, 0 added, 4 already suppressed permanently"),
            std::string::npos)
      << again.out;
}

TEST_F(AcsLists, PullOfAMissingListIsEmptyAndAnUnreachableArmIsATemporaryFailure) {
  start("{}");
  RunResult r = cli({"acs", "pull"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0 addresses, 0 added"), std::string::npos) << r.out;
  arm_->stop(SIGTERM);
  RunResult down = cli({"acs", "pull"});
  EXPECT_EQ(down.exit_code, 75) << down.out << down.err;  // EX_TEMPFAIL: run it again later
  EXPECT_NE(down.err.find("4 attempts"), std::string::npos) << down.err;
}

TEST_F(AcsLists, ANextLinkToAnotherHostIsNotFollowed) {
  // The bearer token is for the configured endpoint only: a page that points elsewhere ends
  // the pull (what was read so far is kept) instead of sending the token there.
  start(kSeed);
  arm_->stop(SIGTERM);
  start_arm(true, "attacker.example:443");
  RunResult r = cli({"acs", "pull"});
  EXPECT_EQ(r.exit_code, 75);
  EXPECT_NE(r.err.find("nextLink leaves localhost: not followed"), std::string::npos) << r.err;
  EXPECT_EQ(cli({"show", "mixed@example.net"}).exit_code, 0) << "the first page was imported";
  EXPECT_EQ(cli({"show", "three@example.org"}).exit_code, 1) << "the second page was never read";
}

TEST_F(AcsLists, PermanentDecisionsArePushedAndReleasesRemoved) {
  start("{}", 0, /*push=*/true);
  DaemonProcess web({bin("bouncegate-web"), "--config", config_}, dir_.path() + "/web.log");
  ASSERT_TRUE(wait_for_port(wport_, 10000)) << web.log();
  ASSERT_EQ(cli({"add", "angry@example.org", "--class", "complaint"}).exit_code, 0);
  ASSERT_EQ(cli({"add", "bounced@example.org", "--class", "hard"}).exit_code, 0);      // a lease
  ASSERT_EQ(cli({"add", "gone@example.org", "--class", "unsubscribe"}).exit_code, 0);  // "*"
  ASSERT_EQ(
      cli({"add", "weekly@example.org", "--class", "unsubscribe", "--list", "weekly"}).exit_code,
      0);
  for (const char* list : {"mail.example.com/bouncegate", "news.example.com/bg-news"}) {
    EXPECT_TRUE(eventually([&] { return on_list(list).count("gone@example.org") == 1; }))
        << list << "\n"
        << web.log();
    auto got = on_list(list);
    EXPECT_EQ(got, (std::set<std::string>{"angry@example.org", "gone@example.org"})) << list;
  }
  // The address resource's name is derived from the address: a repeat is the same PUT.
  EXPECT_EQ(arm_requests(acs_address_id("angry@example.org")), 2);
  EXPECT_EQ(arm_requests("bg-news?api-version=2025-09-01\", \"status\": 201"), 1)
      << "the list is created once";

  // Resubscribed from "*" while a complaint still holds it: it stays on the lists.
  ASSERT_EQ(cli({"add", "both@example.org", "--class", "complaint"}).exit_code, 0);
  ASSERT_EQ(cli({"add", "both@example.org", "--class", "unsubscribe"}).exit_code, 0);
  ASSERT_EQ(cli({"resubscribe", "both@example.org", "--list", "*"}).exit_code, 0);
  ASSERT_EQ(cli({"add", "marker@example.org", "--class", "complaint"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] {
    return on_list("news.example.com/bg-news").count("marker@example.org") == 1;
  })) << web.log();
  EXPECT_EQ(on_list("news.example.com/bg-news").count("both@example.org"), 1u);
  // bouncegate's own pushes are not pulled back as blocks of their own.
  RunResult pull = cli({"acs", "pull"});
  EXPECT_NE(pull.out.find("mail.example.com/bouncegate: 4 addresses, 0 added"), std::string::npos)
      << pull.out;
  EXPECT_NE(pull.out.find("4 pushed by bouncegate"), std::string::npos) << pull.out;

  ASSERT_EQ(cli({"remove", "angry@example.org"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] {
    return on_list("mail.example.com/bouncegate").count("angry@example.org") == 0 &&
           on_list("news.example.com/bg-news").count("angry@example.org") == 0;
  })) << web.log();

  // ARM unreachable: the change stays pending in Redis and arrives once it is back.
  arm_->stop(SIGTERM);
  ASSERT_EQ(cli({"add", "later@example.org", "--class", "complaint"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] {
    return web.log().find("ACS suppression list push failed") != std::string::npos;
  })) << web.log();
  start_arm(false);
  EXPECT_TRUE(eventually(
      [&] { return on_list("news.example.com/bg-news").count("later@example.org") == 1; }, 30000))
      << web.log();
}

TEST_F(AcsLists, PulledAddressesAreNotPushedBack) {
  start(kSeed, 0, /*push=*/true);
  DaemonProcess web({bin("bouncegate-web"), "--config", config_}, dir_.path() + "/web.log");
  ASSERT_TRUE(wait_for_port(wport_, 10000)) << web.log();
  ASSERT_EQ(cli({"acs", "pull"}).exit_code, 0);
  ASSERT_EQ(cli({"add", "marker@example.org", "--class", "complaint"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] {
    return on_list("news.example.com/bg-news").count("marker@example.org") == 1;
  })) << web.log();
  // Only the marker was PUT: the pulled rows made no change events.
  EXPECT_EQ(
      arm_requests("\"method\": \"PUT\", \"path\": \"/subscriptions/" + std::string(kSubscription) +
                   "/resourceGroups/mail-rg/providers/"
                   "Microsoft.Communication/emailServices/mail-es/domains/"
                   "news.example.com/suppressionLists/bg-news/suppressionListAddresses"),
      1);
}

}  // namespace
}  // namespace bouncegate::test

namespace bouncegate::test {
namespace {

std::string config_error(TempDir& dir, const std::string& yaml) {
  dir.file("s", "0123456789abcdef0123\n");
  try {
    load_config(dir.file("bouncegate.yaml", "redis: {address: 127.0.0.1:1}\n" + yaml));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(AcsListsConfig, BadSectionsAreRefusedWithTheirLine) {
  TempDir dir;
  const std::string entra = std::string("    entra: {tenant_id: ") + kTenant +
                            ", client_id: " + kClientId + ", client_secret_file: s}\n";
  const std::string head = std::string("acs:\n  suppression_lists:\n    subscription_id: ") +
                           kSubscription + "\n    resource_group: rg\n    email_service: es\n";
  EXPECT_EQ(config_error(dir, head + "    lists: [{domain: d.example, list: bg}]\n" + entra), "");
  EXPECT_NE(config_error(dir, head + "    lists: [{domain: d.example, list: bg}]\n")
                .find("need an entra: section"),
            std::string::npos);
  EXPECT_NE(config_error(dir, head + "    lists: [{domain: d.example, list: 'b g'}]\n" + entra)
                .find("bouncegate.yaml:7:"),
            std::string::npos);
  EXPECT_NE(config_error(dir, head + "    lists: [{domain: '..', list: bg}]\n" + entra)
                .find("domain resource's name"),
            std::string::npos);
  EXPECT_NE(config_error(dir, "acs:\n  suppression_lists: {push: true}\n").find("push needs lists"),
            std::string::npos);
  EXPECT_NE(config_error(dir, head + "    endpoint: http://arm.example\n" +
                                  "    lists: [{domain: d.example, list: bg}]\n" + entra)
                .find("expected https://"),
            std::string::npos);
  EXPECT_NE(config_error(dir,
                         "webhooks:\n  endpoints:\n    - {name: acs-push, url: "
                         "'https://h.example/x', secret_file: s}\n")
                .find("'acs-push' is the ACS suppression-list push's own consumer group"),
            std::string::npos);
}

}  // namespace
}  // namespace bouncegate::test
