// Postfix with smtpd_milters → bouncegate-milter, relaying to smtp-sink: a suppressed
// recipient gets 550 at RCPT (seen by swaks), the other recipient's copy arrives carrying
// List-Unsubscribe headers whose token opens to that recipient.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
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

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The messages smtp-sink dumped (one file per transaction).
std::vector<std::string> captured(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(read_file(e.path()));
  return out;
}

struct MilterBehindPostfix : ::testing::Test {
  RedisServer redis;
  TempDir dir;
  int milter_port = free_port();
  int sink_port = free_port();
  std::string config;
  std::string sink_dir;
  std::unique_ptr<DaemonProcess> milter, sink;
  std::unique_ptr<PrivatePostfix> postfix;

  void SetUp() override {
    RunResult key = run({"openssl", "rand", "-hex", "32"});
    ASSERT_EQ(key.exit_code, 0);
    std::string key_file = dir.file("token.key", key.out);
    config =
        dir.file("bouncegate.yaml",
                 config_yaml(redis.port(), "[24h, 48h, 96h, 7d, 14d]",
                             "milter: {socket: inet:" + std::to_string(milter_port) +
                                 "@127.0.0.1}\n"
                                 "unsubscribe:\n  key_files: [" +
                                 key_file +
                                 "]\n  url_base: https://unsub.example.com/u/\n"
                                 "  mailto: unsubscribe@example.com\n"
                                 "  lists:\n    - {id: news, sender: '*@news.example.com'}\n"));
    RunResult add = run({bin("bouncegate"), "--config", config, "add", "dead@example.org",
                         "--class", "hard", "--code", "550 5.1.1"});
    ASSERT_EQ(add.exit_code, 0) << add.err;

    milter = std::make_unique<DaemonProcess>(
        std::vector<std::string>{bin("bouncegate-milter"), "--config", config},
        dir.path() + "/milter.log");
    ASSERT_TRUE(wait_for_port(milter_port, 5000)) << milter->log();

    // smtp-sink writes one file per message into sink_dir (as the postfix user).
    sink_dir = dir.path() + "/sink";
    fs::create_directories(sink_dir);
    chmod(dir.path().c_str(), 0755);
    ASSERT_EQ(run({"chown", "postfix", sink_dir}).exit_code, 0);
    sink = std::make_unique<DaemonProcess>(
        std::vector<std::string>{"smtp-sink", "-u", "postfix", "-d", sink_dir + "/",
                                 "127.0.0.1:" + std::to_string(sink_port), "10"},
        dir.path() + "/sink.log");
    ASSERT_TRUE(wait_for_port(sink_port, 5000)) << sink->log();

    PostfixOptions o;
    o.relayhost = "[127.0.0.1]:" + std::to_string(sink_port);
    o.smtpd_milters = {"inet:127.0.0.1:" + std::to_string(milter_port)};
    postfix = std::make_unique<PrivatePostfix>(o);
    postfix->start();
  }

  void TearDown() override {
    postfix.reset();  // before the milter and sink it talks to
    if (sink) sink->stop(SIGTERM, 3000);
    if (milter) {
      EXPECT_EQ(milter->stop(SIGTERM, 8000), 0) << milter->log();
    }
  }
};

TEST_F(MilterBehindPostfix, SuppressedRecipientRefusedOtherCopyArrivesWithUnsubscribeHeaders) {
  RunResult swaks =
      run({"swaks", "--server", "127.0.0.1", "--port", std::to_string(postfix->smtpd_port()),
           "--from", "letters@news.example.com", "--to", "dead@example.org,live@example.org",
           "--header", "Subject: e2e", "--body", "hello", "--timeout", "20"});
  const std::string transcript = swaks.out + swaks.err;
  EXPECT_NE(transcript.find("<** 550 5.1.1 <dead@example.org>: recipient suppressed after hard "
                            "bounce (550 5.1.1), retry after "),
            std::string::npos)
      << transcript;
  EXPECT_NE(transcript.find("<-  250 2.0.0 Ok: queued as"), std::string::npos) << transcript;

  ASSERT_TRUE(postfix->wait_queue_empty(20000)) << postfix->maillog();
  ASSERT_TRUE(postfix->wait_maillog("status=sent", 10000)) << postfix->maillog();
  std::vector<std::string> msgs;
  for (int i = 0; i < 50 && msgs.empty(); ++i) {
    msgs = captured(sink_dir);
    if (msgs.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(msgs.size(), 1u) << postfix->maillog();
  const std::string& m = msgs[0];
  // smtp-sink records the envelope: only the accepted recipient was relayed.
  EXPECT_NE(m.find("X-Rcpt-Args: <live@example.org>"), std::string::npos) << m;
  EXPECT_EQ(m.find("X-Rcpt-Args: <dead@example.org>"), std::string::npos) << m;
  EXPECT_NE(m.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), std::string::npos) << m;
  std::smatch tok;
  ASSERT_TRUE(std::regex_search(
      m, tok,
      std::regex("List-Unsubscribe: <https://unsub\\.example\\.com/u/([A-Za-z0-9_-]+)>,\\r?\\n "
                 "<mailto:unsubscribe@example\\.com\\?subject=unsubscribe-([A-Za-z0-9_-]+)>")))
      << m;
  EXPECT_EQ(tok[1].str(), tok[2].str());
  RunResult open = run({bin("bouncegate"), "--config", config, "token", "open", "--json", tok[1]});
  ASSERT_EQ(open.exit_code, 0) << open.err;
  EXPECT_NE(open.out.find("\"address\":\"live@example.org\""), std::string::npos) << open.out;
  EXPECT_NE(open.out.find("\"list\":\"news\""), std::string::npos) << open.out;

  // The lease of the refused recipient was bumped once.
  RunResult show =
      run({bin("bouncegate"), "--config", config, "show", "--json", "dead@example.org"});
  EXPECT_NE(show.out.find("\"level\":1"), std::string::npos) << show.out;
}

// Gate bypass: spellings of a suppressed address that Postfix delivers to the same mailbox
// (trailing dot, comments, white space, quotes) are refused like the plain form; one whose
// mailbox is unclear is deferred (suppression.on_bad_address: tempfail), never passed; and a
// sender written with a trailing dot is still on its unsubscribe list.
TEST_F(MilterBehindPostfix, NonCanonicalRecipientsAreGatedNotPassed) {
  auto cfg = load_config_text(read_file(config), config);
  SuppressionStore store(cfg->redis, cfg->suppression);
  store.unsubscribe("left@example.org", "news", EventContext{"", "", Source::cli, ""});
  SmtpClient c(postfix->smtpd_port());
  ASSERT_EQ(c.reply().substr(0, 3), "220");
  c.send("EHLO client.example\r\n");
  ASSERT_EQ(c.reply().substr(0, 3), "250");
  c.send("MAIL FROM:<letters@news.example.com.>\r\n");
  ASSERT_EQ(c.reply().substr(0, 3), "250");
  for (std::string rcpt :
       {"<dead@example.org.>", "<dead(comment)@example.org>", "<dead @example.org>",
        "<\"dead\"@example.org>", "<DEAD@Example.ORG.>"}) {
    c.send("RCPT TO:" + rcpt + "\r\n");
    std::string r = c.reply();
    EXPECT_EQ(r.substr(0, 9), "550 5.1.1") << rcpt << ": " << r;
  }
  c.send("RCPT TO:<left@example.org>\r\n");
  std::string r = c.reply();
  EXPECT_EQ(r.substr(0, 9), "550 5.7.1") << r;
  EXPECT_NE(r.find("unsubscribed from list news"), std::string::npos) << r;
  c.send("RCPT TO:<de(x)ad@example.org>\r\n");
  r = c.reply();
  EXPECT_NE(r[0], '2') << r;  // Postfix's own syntax check or the milter's 451 4.1.3
  c.send("RCPT TO:<live@example.org>\r\n");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  c.send("QUIT\r\n");
  c.reply();
  std::string log = milter->log();
  if (r.substr(0, 9) == "451 4.1.3") {
    EXPECT_NE(log.find("not understood"), std::string::npos) << log;
  }
}

}  // namespace
}  // namespace bouncegate::test
