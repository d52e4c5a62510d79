// AUTH XOAUTH2 with an Entra ID token, end to end: the built bouncegate-relay, a scripted
// upstream that accepts only tokens the stand-in token endpoint issued and that have not
// expired (tests/web/token_endpoint.py, Python over HTTPS with a test CA), and a real Redis.
// Client secret and certificate assertion (PS256 and RS256), caching, renewal before expiry,
// a refused secret (mail deferred, secret not logged) and a token the upstream refuses.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "core/config.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/scripted_upstream.hpp"
#include "tests/support/smtp_client.hpp"
#include "tests/support/test_ca.hpp"

namespace bouncegate::test {
namespace {

constexpr const char* kClientId = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
constexpr const char* kTenant = "11111111-2222-3333-4444-555555555555";
constexpr const char* kSecret = "entra-client-secret-~value.0123";
constexpr const char* kUser = "relay@mail.example.com";

struct Attempt {
  std::string rcpt, end;  // the RCPT reply; the reply after the message (or "")
};

class RelayXoauth2 : public ::testing::Test {
 protected:
  // `credential`: the lines under entra: that say how the application proves itself.
  void start(const std::string& credential, int lifetime_s = 3600,
             const std::string& endpoint_secret = kSecret) {
    ca_ = make_test_ca(dir_.path(), "t");
    run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=bouncegate-app",
         "-days", "2", "-keyout", dir_.path() + "/app.key", "-out", dir_.path() + "/app.pem"});
    tokens_ = dir_.path() + "/tokens";
    tlog_ = dir_.path() + "/token-requests.jsonl";
    std::ofstream(tokens_).close();
    tport_ = free_port();
    endpoint_ = std::make_unique<DaemonProcess>(
        std::vector<std::string>{
            "python3", source_path("tests/web/token_endpoint.py"), std::to_string(tport_),
            ca_.server_cert, ca_.server_key, kClientId, endpoint_secret, dir_.path() + "/app.pem",
            std::to_string(lifetime_s), tokens_, tlog_, "https://communication.azure.com/.default"},
        dir_.path() + "/endpoint.log");
    ASSERT_TRUE(wait_for_port(tport_, 10000)) << endpoint_->log();
    UpstreamScript s;
    s.tls_cert = ca_.server_cert;
    s.tls_key = ca_.server_key;
    s.bearer_tokens_file = tokens_;
    s.xoauth2_user = kUser;
    upstream_ = std::make_unique<ScriptedUpstream>(s);
    dir_.file("entra.secret", std::string(kSecret) + "\n");
    relay_port_ = free_port();
    std::string yaml = config_yaml(
        redis_.port(), "[24h, 48h, 96h, 7d, 14d]",
        "relay:\n  listen: ['127.0.0.1:" + std::to_string(relay_port_) +
            "']\n  upstream:\n    host: localhost\n    port: " + std::to_string(upstream_->port()) +
            "\n    tls: starttls\n    ca_file: " + ca_.ca_cert + "\n    username: " + kUser +
            "\n    auth: xoauth2\n    pool_size: 0\n    entra:\n      tenant_id: " + kTenant +
            "\n      client_id: " + kClientId +
            "\n      token_endpoint: https://localhost:" + std::to_string(tport_) + "/" + kTenant +
            "/oauth2/v2.0/token\n      ca_file: " + ca_.ca_cert + "\n" + credential);
    config_ = dir_.file("bouncegate.yaml", yaml);
    relay_ = std::make_unique<DaemonProcess>(
        std::vector<std::string>{bin("bouncegate-relay"), "--config", config_},
        dir_.path() + "/relay.log");
    ASSERT_TRUE(wait_for_port(relay_port_, 10000)) << relay_->log();
  }

  Attempt send_one(const std::string& rcpt) {
    SmtpClient c(relay_port_);
    c.reply();
    c.send("EHLO postfix.example\r\n");
    c.reply();
    c.send("MAIL FROM:<app@mail.example.com>\r\n");
    c.reply();
    c.send("RCPT TO:<" + rcpt + ">\r\n");
    Attempt a;
    a.rcpt = c.reply();
    if (a.rcpt.rfind("250", 0) == 0) {
      c.send("DATA\r\n");
      if (c.reply().rfind("354", 0) == 0) {
        c.send("Subject: t\r\n\r\nbody\r\n.\r\n");
        a.end = c.reply();
      }
    }
    c.send("QUIT\r\n");
    c.reply();
    return a;
  }

  // The token endpoint's requests: {ok, error, form}.
  std::vector<std::string> token_requests() const {
    std::ifstream in(tlog_);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  int ok_requests() const {
    int n = 0;
    for (const auto& r : token_requests()) n += r.find("\"ok\": true") != std::string::npos;
    return n;
  }

  RedisServer redis_;
  TempDir dir_;
  TestCa ca_;
  std::string tokens_, tlog_, config_;
  int tport_ = 0, relay_port_ = 0;
  std::unique_ptr<DaemonProcess> endpoint_;
  std::unique_ptr<ScriptedUpstream> upstream_;
  std::unique_ptr<DaemonProcess> relay_;
};

TEST_F(RelayXoauth2, AClientSecretSignsInAndTheTokenIsReused) {
  start("      client_secret_file: entra.secret\n");
  for (int i = 0; i < 3; ++i) {
    Attempt a = send_one("user" + std::to_string(i) + "@example.net");
    EXPECT_EQ(a.rcpt.substr(0, 3), "250") << a.rcpt << relay_->log();
    EXPECT_EQ(a.end.substr(0, 3), "250") << a.end;
  }
  EXPECT_EQ(upstream_->messages(), 3);
  // pool_size 0: a sign-in per message (and one for the port probe's session)
  EXPECT_GE(upstream_->connections(), 3);
  EXPECT_EQ(ok_requests(), 1) << "the token is cached across connections";
  ASSERT_EQ(token_requests().size(), 1u);
  EXPECT_NE(token_requests()[0].find("\"client_secret\": " + std::to_string(strlen(kSecret))),
            std::string::npos)
      << token_requests()[0];
  EXPECT_EQ(relay_->log().find(kSecret), std::string::npos) << "the secret is never logged";
  std::ifstream tokens(tokens_);
  std::string token;
  tokens >> token;
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(relay_->log().find(token), std::string::npos) << "nor the access token";
}

TEST_F(RelayXoauth2, ATokenIsRenewedBeforeItEnds) {
  // A 3 s token: renewed at half its life by the once-a-second upkeep, so a connection opened
  // after it would have ended signs in with a new one (the upstream refuses expired tokens).
  start("      client_secret_file: entra.secret\n", 3);
  EXPECT_EQ(send_one("a@example.net").end.substr(0, 3), "250");
  std::this_thread::sleep_for(std::chrono::milliseconds(4500));
  Attempt late = send_one("b@example.net");
  EXPECT_EQ(late.end.substr(0, 3), "250") << late.rcpt << relay_->log();
  EXPECT_GE(ok_requests(), 3) << "renewed about every 1.5 s";
  EXPECT_EQ(upstream_->auth_failures(), 0);
}

TEST_F(RelayXoauth2, ACertificateAssertionSignsInWithPs256) {
  start("      certificate_file: app.pem\n      private_key_file: app.key\n");
  Attempt a = send_one("c@example.net");
  EXPECT_EQ(a.end.substr(0, 3), "250") << a.rcpt << endpoint_->log();
  ASSERT_EQ(token_requests().size(), 1u);
  EXPECT_NE(token_requests()[0].find("jwt-bearer"), std::string::npos) << token_requests()[0];
  EXPECT_EQ(ok_requests(), 1) << token_requests()[0];
}

TEST_F(RelayXoauth2, ACertificateAssertionSignsInWithRs256) {
  start(
      "      certificate_file: app.pem\n      private_key_file: app.key\n"
      "      assertion_alg: RS256\n");
  Attempt a = send_one("d@example.net");
  EXPECT_EQ(a.end.substr(0, 3), "250") << a.rcpt;
  EXPECT_EQ(ok_requests(), 1) << (token_requests().empty() ? "" : token_requests()[0]);
}

TEST_F(RelayXoauth2, ARefusedSecretDefersTheMailAndNamesTheEndpointsAnswer) {
  start("      client_secret_file: entra.secret\n", 3600, "the-secret-entra-knows");
  Attempt a = send_one("e@example.net");
  EXPECT_EQ(a.rcpt.substr(0, 9), "454 4.7.0") << a.rcpt;  // Postfix keeps the mail queued
  EXPECT_EQ(upstream_->connections(), 0) << "no sign-in is tried without a token";
  EXPECT_TRUE(relay_->wait_for_log("AADSTS7000215")) << relay_->log();
  EXPECT_EQ(relay_->log().find(kSecret), std::string::npos);
}

TEST_F(RelayXoauth2, ATokenTheUpstreamRefusesIsNotOfferedAgain) {
  start("      client_secret_file: entra.secret\n");
  ASSERT_EQ(send_one("f@example.net").end.substr(0, 3), "250");
  std::ofstream(tokens_, std::ios::trunc).close();  // the upstream no longer honours it
  Attempt refused = send_one("g@example.net");
  EXPECT_EQ(refused.rcpt.substr(0, 9), "454 4.7.0") << refused.rcpt;
  EXPECT_EQ(upstream_->auth_failures(), 1);
  // Within 5 s of a refusal the endpoint is not asked again (no request per connection).
  EXPECT_EQ(send_one("h0@example.net").rcpt.substr(0, 9), "454 4.7.0");
  EXPECT_EQ(ok_requests(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(5200));
  Attempt next = send_one("h@example.net");
  EXPECT_EQ(next.end.substr(0, 3), "250") << next.rcpt << relay_->log();
  EXPECT_EQ(ok_requests(), 2) << "a new token after the refusal";
}

}  // namespace
}  // namespace bouncegate::test

namespace bouncegate::test {
namespace {

// The entra: section is checked at load, with file:line, before any daemon runs.
class EntraConfigCheck : public ::testing::Test {
 protected:
  std::string load_error(const std::string& upstream_lines) {
    std::string yaml = "redis: {address: 127.0.0.1:1}\nrelay:\n  upstream:\n" + upstream_lines;
    std::string path = dir_.file("bouncegate.yaml", yaml);
    try {
      load_config(path);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
  void SetUp() override {
    run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=a", "-days", "1",
         "-keyout", dir_.path() + "/a.key", "-out", dir_.path() + "/a.pem"});
    run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=b", "-days", "1",
         "-keyout", dir_.path() + "/b.key", "-out", dir_.path() + "/b.pem"});
    dir_.file("s", "secret\n");
  }
  std::string entra(const std::string& credential) {
    return std::string(
               "    username: relay@example.com\n    auth: xoauth2\n    entra:\n"
               "      tenant_id: ") +
           kTenant + "\n      client_id: " + kClientId + "\n" + credential;
  }
  TempDir dir_;
};

TEST_F(EntraConfigCheck, BadSectionsAreRefusedWithTheirLine) {
  EXPECT_EQ(load_error(entra("      client_secret_file: s\n")), "");
  EXPECT_EQ(load_error(entra("      certificate_file: a.pem\n      private_key_file: a.key\n")),
            "");
  EXPECT_NE(load_error("    username: u\n    auth: xoauth2\n").find("bouncegate.yaml:5:"),
            std::string::npos);
  EXPECT_NE(load_error("    username: u\n    auth: xoauth2\n").find("needs an entra: section"),
            std::string::npos);
  EXPECT_NE(load_error("    auth: kerberos\n").find("expected password or xoauth2"),
            std::string::npos);
  EXPECT_NE(load_error(entra("")).find("give either client_secret_file or certificate_file"),
            std::string::npos);
  EXPECT_NE(load_error(entra("      client_secret_file: s\n      certificate_file: a.pem\n"
                             "      private_key_file: a.key\n"))
                .find("give either"),
            std::string::npos);
  EXPECT_NE(load_error(entra("      certificate_file: a.pem\n      private_key_file: b.key\n"))
                .find("does not belong to the certificate"),
            std::string::npos);
  EXPECT_NE(load_error(entra("      certificate_file: a.pem\n")).find("needs its private_key_file"),
            std::string::npos);
  EXPECT_NE(load_error(entra("      client_secret_file: s\n      token_endpoint: http://x/t\n"))
                .find("expected https://"),
            std::string::npos);
  std::string bad_id = load_error(
      "    username: u\n    auth: xoauth2\n    entra:\n      tenant_id: t\n"
      "      client_id: not-a-guid\n      client_secret_file: s\n");
  EXPECT_NE(bad_id.find("bouncegate.yaml:8:"), std::string::npos) << bad_id;
  EXPECT_NE(bad_id.find("relay.upstream.entra.client_id"), std::string::npos) << bad_id;
}

}  // namespace
}  // namespace bouncegate::test
