// Postfix → bouncegate-relay → scripted upstream (STARTTLS with a test CA, AUTH): an upstream
// 550 5.1.1 makes Postfix bounce that recipient and the store suppress it; an upstream 4xx
// makes Postfix defer, and the retry (postqueue -f) delivers.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <thread>

#include "core/config.hpp"
#include "core/store.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/postfix.hpp"
#include "tests/support/scripted_upstream.hpp"
#include "tests/support/test_ca.hpp"

namespace bouncegate::test {
namespace {

struct RelayBehindPostfix : ::testing::Test {
  RedisServer redis;
  TempDir dir;
  int relay_port = free_port();
  std::unique_ptr<ScriptedUpstream> upstream;
  std::shared_ptr<const Config> cfg;
  std::unique_ptr<DaemonProcess> relay;
  std::unique_ptr<PrivatePostfix> postfix;

  void SetUp() override {
    TestCa ca = make_test_ca(dir.path());
    UpstreamScript script;
    script.tls_cert = ca.server_cert;
    script.tls_key = ca.server_key;
    script.password = "e2e-upstream-secret";
    upstream = std::make_unique<ScriptedUpstream>(script);
    std::string pw = dir.file("smtp-password", "e2e-upstream-secret\n");
    std::string yaml = config_yaml(
        redis.port(), "[24h, 48h, 96h, 7d, 14d]",
        "relay:\n  listen: [\"127.0.0.1:" + std::to_string(relay_port) +
            "\"]\n  upstream:\n    host: localhost\n    port: " + std::to_string(upstream->port()) +
            "\n    ca_file: " + ca.ca_cert +
            "\n    username: app.tenant.test\n    password_file: " + pw + "\n");
    std::string path = dir.file("bouncegate.yaml", yaml);
    cfg = load_config_text(yaml, path);
    relay = std::make_unique<DaemonProcess>(
        std::vector<std::string>{bin("bouncegate-relay"), "--config", path},
        dir.path() + "/relay.log");
    ASSERT_TRUE(wait_for_port(relay_port, 5000)) << relay->log();

    PostfixOptions o;
    o.relayhost = "[127.0.0.1]:" + std::to_string(relay_port);
    o.main_cf_extra = {"smtp_send_xforward_command = yes"};
    postfix = std::make_unique<PrivatePostfix>(o);
    postfix->start();
  }

  void TearDown() override {
    postfix.reset();
    if (relay) {
      EXPECT_EQ(relay->stop(SIGTERM, 15000), 0) << relay->log();
      EXPECT_EQ(relay->log().find("e2e-upstream-secret"), std::string::npos);
    }
  }

  RunResult submit(const std::string& to) {
    return run({"swaks", "--server", "127.0.0.1", "--port", std::to_string(postfix->smtpd_port()),
                "--from", "app@example.com", "--to", to, "--header", "Subject: relay e2e", "--body",
                "hello", "--timeout", "20"});
  }
};

TEST_F(RelayBehindPostfix, UpstreamHardBounceBouncesInPostfixAndSuppresses) {
  RunResult s = submit("bounce-e2e@example.net,fine@example.net");
  ASSERT_NE((s.out + s.err).find("250 2.0.0 Ok: queued as"), std::string::npos) << s.out << s.err;
  ASSERT_TRUE(postfix->wait_maillog("to=<bounce-e2e@example.net>", 20000)) << postfix->maillog();
  ASSERT_TRUE(postfix->wait_maillog("to=<fine@example.net>", 20000)) << postfix->maillog();
  std::string log = postfix->maillog();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      log, m, std::regex("([0-9A-Za-z]+): to=<bounce-e2e@example.net>.*status=bounced")))
      << log;
  EXPECT_NE(log.find("550 5.1.1"), std::string::npos) << log;
  EXPECT_TRUE(std::regex_search(log, std::regex("to=<fine@example.net>.*status=sent"))) << log;

  SuppressionStore store(cfg->redis, cfg->suppression);
  auto e = store.get("bounce-e2e@example.net");
  ASSERT_TRUE(e) << relay->log();
  EXPECT_EQ(e->cls, OutcomeClass::hard);
  EXPECT_EQ(e->source, "relay");
  EXPECT_FALSE(store.get("fine@example.net"));
  // XFORWARD carried Postfix's queue id into the relay's outcome line.
  EXPECT_NE(relay->log().find(m[1].str() + ": to=<bounce-e2e@example.net>, upstream=localhost:"),
            std::string::npos)
      << relay->log();
}

TEST_F(RelayBehindPostfix, UpstreamTempFailureDefersAndRetryDelivers) {
  RunResult s = submit("defer-e2e@example.net");
  ASSERT_NE((s.out + s.err).find("250 2.0.0 Ok: queued as"), std::string::npos) << s.out << s.err;
  ASSERT_TRUE(postfix->wait_maillog("status=deferred", 20000)) << postfix->maillog();
  // Postfix retries by itself after 1 s (minimal_backoff_time in the test's main.cf), so the
  // retry may already be under way here; the flush only makes it sooner.
  EXPECT_EQ(postfix->command({"postqueue", "-f"}).exit_code, 0);
  ASSERT_TRUE(postfix->wait_maillog("status=sent", 30000)) << postfix->maillog();
  EXPECT_TRUE(postfix->wait_queue_empty(10000));
  // Refused once (the deferral), then delivered exactly once.
  size_t rcpts = 0;
  for (const auto& c : upstream->commands())
    rcpts += c.find("RCPT TO:<defer-e2e@") != std::string::npos;
  EXPECT_GE(rcpts, 2u);
  EXPECT_EQ(upstream->messages(), 1);
  SuppressionStore store(cfg->redis, cfg->suppression);
  EXPECT_FALSE(store.get("defer-e2e@example.net"));
}

}  // namespace
}  // namespace bouncegate::test
