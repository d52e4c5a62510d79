// Postfix with check_policy_service → bouncegate-milter's policy service (the milter itself
// with gate: false, so only List-Unsubscribe work is left to it): a suppressed recipient gets
// 550 at RCPT from the same gate, an unsubscribed one 550 5.7.1, the other copy arrives; the
// lease was stepped once; with Redis down the configured 4xx defers instead of passing.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <thread>

#include "core/config.hpp"
#include "core/store.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/postfix.hpp"
#include "tests/support/smtp_client.hpp"

namespace bouncegate::test {
namespace {

namespace fs = std::filesystem;

struct PolicyBehindPostfix : ::testing::Test {
  RedisServer redis;
  TempDir dir;
  int milter_port = free_port();
  int policy_port = free_port();
  int sink_port = free_port();
  std::string config;
  std::unique_ptr<DaemonProcess> milter, sink;
  std::unique_ptr<PrivatePostfix> postfix;

  void SetUp() override {
    RunResult key = run({"openssl", "rand", "-hex", "32"});
    ASSERT_EQ(key.exit_code, 0);
    std::string key_file = dir.file("token.key", key.out);
    config = dir.file(
        "bouncegate.yaml",
        config_yaml(redis.port(), "[24h, 48h, 96h, 7d, 14d]",
                    "milter:\n  socket: inet:" + std::to_string(milter_port) +
                        "@127.0.0.1\n  gate: false\n  policy_listen: 127.0.0.1:" +
                        std::to_string(policy_port) + "\nunsubscribe:\n  key_files: [" + key_file +
                        "]\n  url_base: https://unsub.example.com/u/\n"
                        "  lists:\n    - {id: news, sender: '*@news.example.com'}\n"));
    ASSERT_EQ(run({bin("bouncegate"), "--config", config, "add", "dead@example.org", "--class",
                   "hard", "--code", "550 5.1.1"})
                  .exit_code,
              0);
    auto cfg = load_config(config);
    SuppressionStore store(cfg->redis, cfg->suppression);
    store.unsubscribe("left@example.org", "news", EventContext{"", "", Source::cli, ""});
    milter = std::make_unique<DaemonProcess>(
        std::vector<std::string>{bin("bouncegate-milter"), "--config", config},
        dir.path() + "/milter.log");
    ASSERT_TRUE(wait_for_port(policy_port, 5000)) << milter->log();
    sink = std::make_unique<DaemonProcess>(
        std::vector<std::string>{"smtp-sink", "-u", "postfix",
                                 "127.0.0.1:" + std::to_string(sink_port), "10"},
        dir.path() + "/sink.log");
    ASSERT_TRUE(wait_for_port(sink_port, 5000)) << sink->log();
    PostfixOptions o;
    o.relayhost = "[127.0.0.1]:" + std::to_string(sink_port);
    o.smtpd_milters = {"inet:127.0.0.1:" + std::to_string(milter_port)};
    // The wiring docs/install.md gives: relay control stays in smtpd_relay_restrictions
    // (evaluated first), the gate is the recipient restriction.
    o.main_cf_extra = {
        "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:" +
            std::to_string(policy_port),
        "smtpd_policy_service_default_action = 451 4.3.5 policy service unavailable"};
    postfix = std::make_unique<PrivatePostfix>(o);
    postfix->start();
  }
  void TearDown() override {
    postfix.reset();
    if (sink) sink->stop(SIGTERM, 3000);
    if (milter) {
      EXPECT_EQ(milter->stop(SIGTERM, 8000), 0) << milter->log();
    }
  }
  std::string rcpt_reply(SmtpClient& c, const std::string& rcpt) {
    c.send("RCPT TO:<" + rcpt + ">\r\n");
    return c.reply();
  }
};

TEST_F(PolicyBehindPostfix, TheGateAnswersThroughThePolicyProtocol) {
  SmtpClient c(postfix->smtpd_port());
  ASSERT_EQ(c.reply().substr(0, 3), "220");
  c.send("EHLO client.example\r\n");
  ASSERT_EQ(c.reply().substr(0, 3), "250");
  c.send("MAIL FROM:<letters@news.example.com>\r\n");
  ASSERT_EQ(c.reply().substr(0, 3), "250");
  std::string dead = rcpt_reply(c, "dead@example.org");
  EXPECT_EQ(dead.substr(0, 9), "550 5.1.1") << dead << postfix->maillog();
  EXPECT_NE(dead.find("recipient suppressed after hard bounce"), std::string::npos) << dead;
  std::string dot = rcpt_reply(c, "DEAD@Example.ORG.");
  EXPECT_EQ(dot.substr(0, 9), "550 5.1.1") << "canonicalised like at the milter: " << dot;
  std::string left = rcpt_reply(c, "left@example.org");
  EXPECT_EQ(left.substr(0, 9), "550 5.7.1") << left;
  EXPECT_EQ(rcpt_reply(c, "live@example.org").substr(0, 3), "250");
  c.send("DATA\r\n");
  ASSERT_EQ(c.reply().substr(0, 3), "354");
  c.send("Subject: p\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  c.send("QUIT\r\n");
  c.reply();
  ASSERT_TRUE(postfix->wait_maillog("status=sent", 20000)) << postfix->maillog();
  RunResult show =
      run({bin("bouncegate"), "--config", config, "show", "--json", "dead@example.org"});
  EXPECT_NE(show.out.find("\"level\":2"), std::string::npos) << "two hits, two steps: " << show.out;
  RunResult report = run({bin("bouncegate"), "--config", config, "report", "--address",
                          "dead@example.org", "--format", "json"});
  EXPECT_NE(report.out.find("milter:policy"), std::string::npos) << report.out;
}

TEST_F(PolicyBehindPostfix, RedisDownDefersWithTheConfiguredReply) {
  redis.stop();
  SmtpClient c(postfix->smtpd_port());
  ASSERT_EQ(c.reply().substr(0, 3), "220");
  c.send("EHLO client.example\r\nMAIL FROM:<a@app.example.com>\r\n");
  c.reply();
  ASSERT_EQ(c.reply().substr(0, 3), "250");
  std::string r = rcpt_reply(c, "anyone@example.org");
  EXPECT_EQ(r.substr(0, 1), "4") << "never a pass while the gate cannot be asked: " << r;
  c.send("QUIT\r\n");
  c.reply();
}

}  // namespace
}  // namespace bouncegate::test
