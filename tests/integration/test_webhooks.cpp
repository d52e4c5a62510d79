// Change webhooks end to end: the built bouncegate-web, a real redis-server, and a real HTTP
// receiver (tests/web/webhook_receiver.py, Python's http.server) started by the test.
// Signatures, retries after a 500, a restart of bouncegate-web while a change is pending,
// dead letters, and expiry observed through the due-time index.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "core/json_parse.hpp"
#include "core/store.hpp"
#include "core/webhook_change.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/loopback.hpp"
#include "tests/support/test_ca.hpp"

namespace bouncegate::test {
namespace {

constexpr const char* kSecret = "hook-secret-0123456789abcdef";

struct Delivery {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? "" : it->second;
  }
};

class WebhookTest : public ::testing::Test {
 protected:
  // tls: the receiver speaks HTTPS with a certificate of a test CA; `trusted`: bouncegate-web
  // trusts that CA (SSL_CERT_FILE, the system store's override).
  void start(int fail_first, int max_attempts = 6, bool tls = false, bool trusted = true) {
    rport_ = free_port();
    wport_ = free_port();
    rlog_ = dir_.path() + "/received.jsonl";
    fail_file_ = dir_.path() + "/failing";
    std::vector<std::string> argv = {"python3",
                                     source_path("tests/web/webhook_receiver.py"),
                                     std::to_string(rport_),
                                     rlog_,
                                     std::to_string(fail_first),
                                     fail_file_};
    if (tls) {
      TestCa ca = make_test_ca(dir_.path(), "hook");
      argv.push_back(ca.server_cert);
      argv.push_back(ca.server_key);
      TestCa other = make_test_ca(dir_.path(), "other");
      web_env_ = {"SSL_CERT_FILE=" + (trusted ? ca.ca_cert : other.ca_cert)};
    }
    receiver_ = std::make_unique<DaemonProcess>(argv, dir_.path() + "/receiver.log");
    ASSERT_TRUE(wait_for_port(rport_, 10000)) << receiver_->log();
    std::string secret = dir_.file("hook.secret", std::string(kSecret) + "\n");
    config_ = dir_.file(
        "bouncegate.yaml",
        config_yaml(redis_.port(), "[24h, 48h, 96h, 7d, 14d]",
                    "web:\n  listen: 127.0.0.1:" + std::to_string(wport_) +
                        "\nwebhooks:\n  backoff: 100ms\n  backoff_max: 400ms\n  max_attempts: " +
                        std::to_string(max_attempts) +
                        "\n  expiry_sweep: 200ms\n  timeout: 2s\n  endpoints:\n"
                        "    - {name: crm, url: '" +
                        std::string(tls ? "https://localhost:" : "http://127.0.0.1:") +
                        std::to_string(rport_) + "/hook', secret_file: " + secret + "}\n"));
    cfg_ = load_config(config_);
    store_ = std::make_unique<SuppressionStore>(cfg_->redis, cfg_->suppression);
    start_web();
  }
  void start_web() {
    std::vector<std::string> argv = {"env"};
    argv.insert(argv.end(), web_env_.begin(), web_env_.end());
    argv.insert(argv.end(), {bin("bouncegate-web"), "--config", config_});
    web_ = std::make_unique<DaemonProcess>(argv, dir_.path() + "/web.log");
    ASSERT_TRUE(wait_for_port(wport_, 10000)) << web_->log();
    // Changes are reported from the moment the endpoint's consumer group exists.
    for (int i = 0; i < 100; ++i) {
      if (redis_.cli({"XINFO", "GROUPS", "bg:events"}).find("webhook:crm") != std::string::npos)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "consumer group not created\n" << web_->log();
  }

  std::vector<Delivery> received() {
    std::vector<Delivery> out;
    std::ifstream in(rlog_);
    std::string line, why;
    while (std::getline(in, line)) {
      auto v = parse_json(line, &why);
      if (!v) continue;
      Delivery d;
      d.status = static_cast<int>(v->find("status")->number);
      d.body = *v->string_at("body");
      for (const auto& [k, h] : v->find("headers")->members) d.headers[k] = h.text;
      out.push_back(d);
    }
    return out;
  }
  // Waits until `pred` holds for the received requests (10 s).
  std::vector<Delivery> wait_for(const std::function<bool(const std::vector<Delivery>&)>& pred) {
    std::vector<Delivery> r;
    for (int i = 0; i < 200; ++i) {
      r = received();
      if (pred(r)) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "receiver saw " << r.size() << " requests\n" << web_->log();
    return r;
  }
  static size_t count(const std::vector<Delivery>& r, const std::string& change, int status) {
    size_t n = 0;
    for (const auto& d : r) n += d.header("bouncegate-change") == change && d.status == status;
    return n;
  }

  OutcomeRecord hard(const std::string& addr) {
    OutcomeRecord o;
    o.address = addr;
    o.cls = OutcomeClass::hard;
    o.action = Action::suppress;
    o.code = "550 5.1.1";
    o.text = "550 5.1.1 user unknown";
    o.ctx.source = Source::relay;
    return o;
  }

  RedisServer redis_;
  TempDir dir_;
  int rport_ = 0, wport_ = 0;
  std::string rlog_, fail_file_, config_;
  std::vector<std::string> web_env_;
  std::shared_ptr<const Config> cfg_;
  std::unique_ptr<SuppressionStore> store_;
  std::unique_ptr<DaemonProcess> receiver_, web_;
};

TEST_F(WebhookTest, SignedAndRetriedAfterA500) {
  start(2);
  store_->record(hard("dead@example.net"));
  auto r = wait_for([](const auto& r) { return count(r, "suppressed", 200) >= 1; });
  ASSERT_EQ(r.size(), 3u) << "two 500s, then the same change once more";
  EXPECT_EQ(r[0].status, 500);
  EXPECT_EQ(r[1].status, 500);
  EXPECT_EQ(r[0].header("bouncegate-event-id"), r[2].header("bouncegate-event-id"));
  for (const auto& d : r) {
    // The signature covers the timestamp and the body, with the endpoint's secret.
    int64_t ts = std::stoll(d.header("bouncegate-timestamp"));
    EXPECT_LE(std::abs(ts - now_ms() / 1000), 30);
    EXPECT_EQ(d.header("bouncegate-signature"), "v1=" + webhook_signature(kSecret, ts, d.body));
    EXPECT_NE(d.header("bouncegate-signature"),
              "v1=" + webhook_signature("another-secret-0000", ts, d.body));
  }
  EXPECT_NE(r[2].body.find("\"address\":\"dead@example.net\""), std::string::npos) << r[2].body;
  EXPECT_NE(r[2].body.find("\"class\":\"hard\""), std::string::npos) << r[2].body;
  // A gate hit steps the lease (escalated); remove releases; a pass or a shadow ask is silent.
  store_->gate("dead@example.net", "", EventContext{});
  store_->gate("clean@example.net", "", EventContext{});
  store_->gate("dead@example.net", "", EventContext{}, true);
  store_->remove("dead@example.net", EventContext{});
  r = wait_for([](const auto& r) { return count(r, "released", 200) >= 1; });
  EXPECT_EQ(count(r, "escalated", 200), 1u);
  EXPECT_EQ(r.size(), 5u) << "nothing for the pass and the shadow ask";
}

TEST_F(WebhookTest, RestartWhilePendingLosesNothingAndDuplicatesNothingDelivered) {
  start(0);
  { std::ofstream(fail_file_) << "1"; }  // the receiver fails every request for now
  store_->record(hard("a@example.net"));
  wait_for([](const auto& r) { return !r.empty(); });
  ASSERT_EQ(web_->stop(SIGTERM), 0) << web_->log();
  store_->record(hard("b@example.net"));  // while bouncegate-web is down
  std::remove(fail_file_.c_str());
  start_web();
  auto r = wait_for([](const auto& r) { return count(r, "suppressed", 200) >= 2; });
  std::map<std::string, int> ok;
  for (const auto& d : r)
    if (d.status == 200) ++ok[d.body.substr(d.body.find("\"address\":"), 30)];
  ASSERT_EQ(ok.size(), 2u);
  for (const auto& [a, n] : ok) EXPECT_EQ(n, 1) << a << " delivered more than once";
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(count(received(), "suppressed", 200), 2u) << "acknowledged changes are not resent";
}

TEST_F(WebhookTest, GivenUpAfterMaxAttemptsIntoTheDeadLetterStream) {
  start(1000, 3);
  store_->record(hard("x@example.net"));
  for (int i = 0; i < 100 && redis_.cli({"XLEN", "bg:webhook:crm:dead"}) != "1\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(redis_.cli({"XLEN", "bg:webhook:crm:dead"}), "1\n") << web_->log();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(received().size(), 3u) << "three attempts, then no more";
  EXPECT_NE(web_->log().find("webhook given up"), std::string::npos);
}

TEST_F(WebhookTest, ExpiryIsReportedOnceFromTheDueTimeIndex) {
  start(0);
  OutcomeRecord o = hard("short@example.net");
  o.ttl = Millis(700);
  store_->record(o);
  auto r = wait_for([](const auto& r) { return count(r, "expired", 200) >= 1; });
  EXPECT_EQ(count(r, "expired", 200), 1u);
  size_t expired_events = 0;
  for (const auto& ev : store_->events_since(0))
    expired_events += ev.get("kind") == "expired" && ev.get("addr") == "short@example.net";
  EXPECT_EQ(expired_events, 1u);
  EXPECT_EQ(redis_.cli({"ZCARD", "bg:expiry"}), "0\n");
}

TEST_F(WebhookTest, HttpsEndpointsAreVerified) {
  start(0, 6, true, true);
  store_->record(hard("tls@example.net"));
  auto r = wait_for([](const auto& r) { return count(r, "suppressed", 200) >= 1; });
  EXPECT_EQ(r.size(), 1u);
}

TEST_F(WebhookTest, AnUntrustedCertificateGetsNothing) {
  start(0, 6, true, false);
  store_->record(hard("tls@example.net"));
  EXPECT_TRUE(web_->wait_for_log("webhook failed", 10000)) << web_->log();
  EXPECT_TRUE(received().empty()) << "nothing is sent to a server that cannot prove its name";
}

}  // namespace
}  // namespace bouncegate::test
