// SMTP smuggling against a real Postfix upstream that is itself lenient
// (smtpd_forbid_bare_newline = no): a client of bouncegate-relay hides a second transaction
// behind bare-LF/CR end-of-data variants. Postfix must receive exactly the messages the relay
// gated, never one for the hidden recipient, in both relay.bare_newline modes.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>

#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/postfix.hpp"
#include "tests/support/smtp_client.hpp"

namespace bouncegate::test {
namespace {

// Every way a lenient server may read an end of data that is not CRLF "." CRLF.
const char* const kFakeEnds[] = {"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r"};

struct SmugglingThroughRelay : ::testing::TestWithParam<std::string> {
  RedisServer redis;
  TempDir dir;
  int relay_port = free_port();
  std::unique_ptr<PrivatePostfix> postfix;
  std::unique_ptr<DaemonProcess> relay;

  void SetUp() override {
    PostfixOptions o;
    // The upstream: takes mail for anyone from loopback, discards it after logging to=<...>,
    // and reads bare LF as a line end, as Postfix did by default before 3.9.
    o.main_cf_extra = {"smtpd_forbid_bare_newline = no", "default_transport = discard",
                       "relay_transport = discard", "smtpd_recipient_restrictions = permit"};
    postfix = std::make_unique<PrivatePostfix>(o);
    postfix->start();
    std::string yaml = config_yaml(
        redis.port(), "[24h, 48h, 96h, 7d, 14d]",
        "relay:\n  listen: [\"127.0.0.1:" + std::to_string(relay_port) + "\"]\n  bare_newline: " +
            GetParam() + "\n  upstream:\n    host: 127.0.0.1\n    port: " +
            std::to_string(postfix->smtpd_port()) + "\n    tls: none\n    insecure: true\n");
    std::string path = dir.file("bouncegate.yaml", yaml);
    relay = std::make_unique<DaemonProcess>(
        std::vector<std::string>{bin("bouncegate-relay"), "--config", path},
        dir.path() + "/relay.log");
    ASSERT_TRUE(wait_for_port(relay_port, 5000)) << relay->log();
  }
  void TearDown() override {
    if (relay) {
      EXPECT_EQ(relay->stop(SIGTERM, 15000), 0) << relay->log();
    }
    postfix.reset();
  }
};

TEST_P(SmugglingThroughRelay, HiddenTransactionNeverReachesPostfix) {
  int sent = 0;
  for (const char* end : kFakeEnds) {
    SmtpClient c(relay_port);
    ASSERT_EQ(c.reply().substr(0, 3), "220");
    c.send("EHLO client.example\r\n");
    ASSERT_EQ(c.reply().substr(0, 3), "250");
    c.send("MAIL FROM:<app@example.com>\r\nRCPT TO:<gated" + std::to_string(sent) +
           "@example.net>\r\nDATA\r\n");
    ASSERT_EQ(c.reply().substr(0, 3), "250");
    ASSERT_EQ(c.reply().substr(0, 3), "250");
    ASSERT_EQ(c.reply().substr(0, 3), "354");
    c.send(std::string("Subject: smuggle\r\n\r\nhello") + end +
           "MAIL FROM:<attacker@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
           "Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n");
    std::string r = c.reply();
    // reject: refused as a whole; normalize: one message, the hidden commands are its text.
    EXPECT_EQ(r.substr(0, 3), GetParam() == "reject" ? "550" : "250") << r;
    if (r[0] == '2') ++sent;
    // The next transaction on the same session still works: nothing is out of step.
    c.send("RSET\r\nQUIT\r\n");
    EXPECT_EQ(c.reply().substr(0, 3), "250");
    EXPECT_EQ(c.reply().substr(0, 3), "221");
  }
  if (sent > 0) {
    ASSERT_TRUE(postfix->wait_maillog("status=sent", 20000)) << postfix->maillog();
  }
  ASSERT_TRUE(postfix->wait_queue_empty(20000));
  std::string log = postfix->maillog();
  EXPECT_EQ(log.find("victim@example.net"), std::string::npos) << log;
  EXPECT_EQ(log.find("attacker@example.org"), std::string::npos) << log;
  // Postfix took exactly the messages the relay accepted, no more.
  std::regex accepted("message-id=");
  auto n =
      std::distance(std::sregex_iterator(log.begin(), log.end(), accepted), std::sregex_iterator());
  EXPECT_EQ(n, sent) << log;
  EXPECT_EQ(sent, GetParam() == "reject" ? 0 : 5);
}

INSTANTIATE_TEST_SUITE_P(Modes, SmugglingThroughRelay, ::testing::Values("reject", "normalize"));

}  // namespace
}  // namespace bouncegate::test
