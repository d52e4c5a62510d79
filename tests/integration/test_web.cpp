// bouncegate-web end to end: the built binary on a free port, a real redis-server, real HTTP
// over loopback sockets; tokens sealed by `bouncegate token seal` and by the keyring API.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/store.hpp"
#include "core/unsubscribe.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/loopback.hpp"
#include "tests/support/smtp_client.hpp"

namespace bouncegate::test {
namespace {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

// One request on a fresh connection (Connection: close), read to EOF; bounded by 10 s.
HttpReply http_request(int port, const std::string& method, const std::string& target,
                       const std::string& body = "",
                       const std::vector<std::string>& extra_headers = {}) {
  int fd = connect_loopback(port, 10);
  if (fd < 0) {
    ADD_FAILURE() << "connect to bouncegate-web failed";
    return {};
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : extra_headers) req += h + "\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[8192];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  close(fd);
  HttpReply r;
  size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) {
    ADD_FAILURE() << "not an HTTP response: " << raw.substr(0, 200);
    return r;
  }
  r.status = std::stoi(raw.substr(9, 3));
  size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[name] = value;
    pos = eol + 2;
  }
  r.body = raw.substr(head_end + 4);
  return r;
}

// bouncegate-web on `port`, started and waited for; `env` entries go before it via env(1).
std::unique_ptr<DaemonProcess> start_web(const std::string& config, int port,
                                         const std::string& log_path,
                                         const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv;
  if (!env.empty()) {
    argv.push_back("env");
    argv.insert(argv.end(), env.begin(), env.end());
  }
  argv.insert(argv.end(), {bin("bouncegate-web"), "--config", config});
  auto d = std::make_unique<DaemonProcess>(argv, log_path);
  if (!wait_for_port(port, 10000)) ADD_FAILURE() << "bouncegate-web did not listen: " << d->log();
  return d;
}

constexpr const char* kSecret = "eg-secret-9f8e7d";

class WebTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = free_port();
    std::string key = dir_.file(
        "unsub.key", "8f1c0d2e3b4a59687766554433221100ffeeddccbbaa99887766554433221100\n");
    std::string secret = dir_.file("eg.secret", std::string(kSecret) + "\n");
    config_ = dir_.file("bouncegate.yaml",
                        config_yaml(redis_.port(), "[24h, 48h, 96h, 7d, 14d]",
                                    "web:\n  listen: 127.0.0.1:" + std::to_string(port_) +
                                        "\n  event_grid_secret_file: " + secret +
                                        "\n  max_body: 64k\n  request_timeout: 2s\n"
                                        "unsubscribe:\n  key_files: [" +
                                        key + "]\n  token_max_age: 30d\n"));
    cfg_ = load_config(config_);
    store_ = std::make_unique<SuppressionStore>(cfg_->redis, cfg_->suppression);
    web_ = start_web(config_, port_, dir_.path() + "/web.log");
  }

  std::string seal_with_cli(const std::string& list, const std::string& addr) {
    auto r = run({bin("bouncegate"), "--config", config_, "token", "seal", "--list", list, addr});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string t = r.out;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  }

  HttpReply post_events(const std::string& body, const std::string& code = kSecret) {
    return http_request(port_, "POST", "/acs/events?code=" + code, body,
                        {"Content-Type: application/json", "aeg-event-type: Notification"});
  }

  // Events recorded for `addr` (kind outcome) since the test began.
  std::vector<Event> events_for(const std::string& addr) {
    std::vector<Event> out;
    for (auto& e : store_->events_since(0))
      if (e.get("addr") == addr && e.get("kind") != "gate") out.push_back(e);
    return out;
  }

  RedisServer redis_;
  TempDir dir_;
  int port_ = 0;
  std::string config_;
  std::shared_ptr<const Config> cfg_;
  std::unique_ptr<SuppressionStore> store_;
  std::unique_ptr<DaemonProcess> web_;
};

// "2026-12-01T08:00:00.1234567+00:00": Event Grid's spelling, `ago_ms` before now.
std::string report_time_text(int64_t ago_ms) {
  std::string t = utc_iso(now_ms() - ago_ms);  // ...T08:00:00Z
  return t.substr(0, t.size() - 1) + ".1234567+00:00";
}

std::string delivery_report(const std::string& id, const std::string& rcpt,
                            const std::string& status, const std::string& message = "",
                            const std::string& extra_data = "", int64_t ago_ms = 2 * 3600'000) {
  // Shape as documented for Microsoft.Communication.EmailDeliveryReportReceived (Event Grid
  // schema).
  return R"({"id":")" + id +
         R"(","topic":"/subscriptions/0000/resourceGroups/rg/providers/microsoft.communication/communicationservices/acs1",)"
         R"("subject":"sender/noreply@mail.example.com/message/)" +
         id + R"(","data":{"sender":"noreply@mail.example.com","recipient":")" + rcpt +
         R"(","messageId":")" + id + R"(","status":")" + status +
         R"(","deliveryStatusDetails":{"statusMessage":")" + message +
         R"(","recipientMailServerHostName":"mx.example.net"},"deliveryAttemptTimeStamp":")" +
         report_time_text(ago_ms) + "\"" + extra_data +
         R"(},"eventType":"Microsoft.Communication.EmailDeliveryReportReceived","dataVersion":"1.0",)"
         R"("metadataVersion":"1","eventTime":")" +
         utc_iso(now_ms() - ago_ms + 1000) + R"("})";
}

TEST_F(WebTest, OneClickPostRecordsTheUnsubscribe) {
  std::string token = seal_with_cli("news", "Alice@Example.com");
  auto r = http_request(port_, "POST", "/u/" + token, "List-Unsubscribe=One-Click",
                        {"Content-Type: application/x-www-form-urlencoded"});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("unsubscribed"), std::string::npos) << r.body;
  auto u = store_->unsubscriptions("alice@example.com");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u.begin()->first, "news");
  auto show = run({bin("bouncegate"), "--config", config_, "--json", "show", "alice@example.com"});
  EXPECT_NE(show.out.find("\"news\""), std::string::npos) << show.out;
}

TEST_F(WebTest, GetShowsThePageNamingTheListAndChangesNothing) {
  std::string token = seal_with_cli("weekly-digest", "bob@example.com");
  auto r = http_request(port_, "GET", "/u/" + token);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.header("content-type").find("text/html"), std::string::npos);
  EXPECT_NE(r.body.find("weekly-digest"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<form method=\"post\">"), std::string::npos);
  EXPECT_NE(r.body.find("value=\"all\""), std::string::npos);
  EXPECT_EQ(r.body.find("<script"), std::string::npos);
  EXPECT_TRUE(r.header("set-cookie").empty());
  EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
  EXPECT_TRUE(store_->unsubscriptions("bob@example.com").empty());
}

TEST_F(WebTest, PageFormCanLeaveAllLists) {
  std::string token = seal_with_cli("news", "carol@example.com");
  auto r = http_request(port_, "POST", "/u/" + token, "scope=all",
                        {"Content-Type: application/x-www-form-urlencoded"});
  EXPECT_EQ(r.status, 200);
  auto u = store_->unsubscriptions("carol@example.com");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u.begin()->first, "*");
}

TEST_F(WebTest, TamperedUnknownAndExpiredTokensAre400AndRecordNothing) {
  std::string token = seal_with_cli("news", "dave@example.com");
  std::string tampered = token;
  size_t mid = tampered.size() / 2;
  tampered[mid] = tampered[mid] == 'A' ? 'B' : 'A';
  auto keys = TokenKeyring::load(cfg_->unsubscribe.key_files);
  int64_t now_s = now_ms() / 1000;
  std::string expired = keys.seal("news", "dave@example.com", now_s - 31 * 86400);
  TempDir other;
  std::string other_key =
      other.file("k", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
  std::string foreign = TokenKeyring::load({other_key}).seal("news", "dave@example.com", now_s);
  for (const auto& bad : {tampered, expired, foreign, std::string("AAAA")}) {
    auto post = http_request(port_, "POST", "/u/" + bad, "List-Unsubscribe=One-Click");
    EXPECT_EQ(post.status, 400) << bad;
    EXPECT_NE(post.body.find("Nothing was changed"), std::string::npos);
    EXPECT_EQ(http_request(port_, "GET", "/u/" + bad).status, 400);
  }
  EXPECT_TRUE(store_->unsubscriptions("dave@example.com").empty());
  EXPECT_TRUE(events_for("dave@example.com").empty());
}

TEST_F(WebTest, ReplayedOneClickIsIdempotent) {
  std::string token = seal_with_cli("news", "erin@example.com");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(http_request(port_, "POST", "/u/" + token, "List-Unsubscribe=One-Click").status, 200);
  auto u = store_->unsubscriptions("erin@example.com");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u.begin()->first, "news");
}

TEST_F(WebTest, WrongOrMissingCodeIsRefusedAndRecordsNothing) {
  std::string batch =
      "[" + delivery_report("w1", "frank@example.com", "Bounced", "550 5.1.1 x") + "]";
  EXPECT_EQ(post_events(batch, "wrong").status, 403);
  EXPECT_EQ(http_request(port_, "POST", "/acs/events", batch).status, 401);
  EXPECT_EQ(post_events(batch, std::string(kSecret) + "x").status, 403);
  EXPECT_FALSE(store_->get("frank@example.com").has_value());
  EXPECT_TRUE(events_for("frank@example.com").empty());
}

TEST_F(WebTest, EventGridSubscriptionValidationIsAnswered) {
  auto r = post_events(
      R"([{"id":"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66","topic":"/subscriptions/x","subject":"",)"
      R"("data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6",)"
      R"("validationUrl":"https://rp-eastus2.eventgrid.azure.net/api/subscriptions/x/validate"},)"
      R"("eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",)"
      R"("eventTime":"2026-11-27T10:00:00Z","metadataVersion":"1","dataVersion":"2"}])");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})");
}

TEST_F(WebTest, CloudEventsOptionsHandshakeEchoesTheOrigin) {
  auto r = http_request(port_, "OPTIONS", std::string("/acs/events?code=") + kSecret, "",
                        {"WebHook-Request-Origin: eventgrid.azure.net"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("webhook-allowed-origin"), "eventgrid.azure.net");
  auto wrong = http_request(port_, "OPTIONS", "/acs/events?code=nope", "",
                            {"WebHook-Request-Origin: eventgrid.azure.net"});
  EXPECT_EQ(wrong.status, 403);
  EXPECT_TRUE(wrong.header("webhook-allowed-origin").empty());
}

TEST_F(WebTest, DeliveryReportBatchMapsEveryStatus) {
  std::string batch =
      "[" + delivery_report("d1", "ok@example.com", "Delivered", "Delivered") + "," +
      delivery_report("d2", "gone@example.com", "Bounced",
                      "550 5.1.1 The email account that you tried to reach does not exist.") +
      "," + delivery_report("d3", "supp@example.com", "Suppressed", "Recipient is suppressed") +
      "," + delivery_report("d4", "spam@example.com", "FilteredSpam", "Filtered as spam") + "," +
      delivery_report("d5", "quar@example.com", "Quarantined", "") + "," +
      delivery_report("d6", "list@example.com", "Expanded", "") + "]";
  auto r = post_events(batch);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"recorded":5,"duplicates":0,"ignored":1})");

  auto gone = store_->get("gone@example.com");
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->cls, OutcomeClass::hard);
  EXPECT_EQ(gone->source, "acs");
  EXPECT_EQ(gone->code, "550 5.1.1");
  auto supp = store_->get("supp@example.com");
  ASSERT_TRUE(supp.has_value());
  EXPECT_EQ(supp->cls, OutcomeClass::upstream_suppressed);
  // Reputation and content outcomes are evidence, not suppressions.
  EXPECT_FALSE(store_->get("spam@example.com").has_value());
  auto spam = events_for("spam@example.com");
  ASSERT_EQ(spam.size(), 1u);
  EXPECT_EQ(spam[0].get("class"), "reputation");
  EXPECT_EQ(spam[0].get("source"), "acs");
  ASSERT_EQ(events_for("quar@example.com").size(), 1u);
  EXPECT_EQ(events_for("quar@example.com")[0].get("class"), "content");
  auto ok = events_for("ok@example.com");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].get("class"), "delivered");
  EXPECT_FALSE(store_->get("ok@example.com").has_value());
  EXPECT_TRUE(events_for("list@example.com").empty());
}

// ACS's status alone never suppresses: a Bounced report whose text proves nothing is recorded
// as unknown, and a Failed report whose text is a dead-address reply is hard like any reply.
TEST_F(WebTest, StatusMessageDecidesNotTheAcsStatus) {
  auto r = post_events("[" + delivery_report("b1", "vague@example.com", "Bounced", "") + "," +
                       delivery_report("b2", "bare@example.com", "Bounced", "550 Rejected") + "," +
                       delivery_report("f1", "dead@example.com", "Failed",
                                       "550 5.1.1 The email account that you tried to reach "
                                       "does not exist") +
                       "," +
                       delivery_report("f2", "block@example.com", "Failed",
                                       "554 5.7.1 [CS01] Message rejected due to local policy") +
                       "]");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(store_->get("vague@example.com").has_value());
  EXPECT_FALSE(store_->get("bare@example.com").has_value());
  auto dead = store_->get("dead@example.com");
  ASSERT_TRUE(dead.has_value());
  EXPECT_EQ(dead->cls, OutcomeClass::hard);
  EXPECT_FALSE(store_->get("block@example.com").has_value());
  auto ev = events_for("block@example.com");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].get("class"), "reputation");
  auto vague = events_for("vague@example.com");
  ASSERT_EQ(vague.size(), 1u);
  EXPECT_EQ(vague[0].get("class"), "unknown");
  EXPECT_EQ(vague[0].get("rule"), "acs-bounced-unclear");
}

TEST_F(WebTest, CloudEventsBatchIsAccepted) {
  std::string ce =
      R"([{"specversion":"1.0","id":"ce-1","source":"/subscriptions/x/acs1",)"
      R"("type":"Microsoft.Communication.EmailDeliveryReportReceived","time":"2026-11-27T10:00:00Z",)"
      R"("subject":"sender/noreply@mail.example.com/message/ce-1","datacontenttype":"application/json",)"
      R"("data":{"sender":"noreply@mail.example.com","recipient":"ce@example.com","messageId":"ce-1",)"
      R"("status":"Bounced","deliveryStatusDetails":{"statusMessage":"550 5.1.1 user unknown"}}}])";
  auto r = http_request(port_, "POST", std::string("/acs/events?code=") + kSecret, ce,
                        {"Content-Type: application/cloudevents-batch+json; charset=utf-8"});
  EXPECT_EQ(r.status, 200) << r.body;
  auto e = store_->get("ce@example.com");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->cls, OutcomeClass::hard);
}

TEST_F(WebTest, DuplicateEventIdIsProcessedOnce) {
  std::string batch =
      "[" + delivery_report("dup-1", "twice@example.com", "FilteredSpam", "spam") + "]";
  EXPECT_EQ(post_events(batch).body, R"({"recorded":1,"duplicates":0,"ignored":0})");
  EXPECT_EQ(post_events(batch).body, R"({"recorded":0,"duplicates":1,"ignored":0})");
  EXPECT_EQ(events_for("twice@example.com").size(), 1u);
}

TEST_F(WebTest, DeliveryReportsAreEvidenceWithTheProvidersTimeAndIds) {
  store_->remember_message("m-77@app.example",
                           {{"queue_id", "4QKID"}, {"sender", "app@example.com"}},
                           {"dead@example.com"});
  auto r =
      post_events("[" +
                  delivery_report("ev-1", "dead@example.com", "Failed", "550 5.1.1 user unknown",
                                  R"(,"internetMessageId":"<m-77@app.example>")", 3 * 3600'000) +
                  "]");
  ASSERT_EQ(r.status, 200) << r.body;
  auto evs = events_for("dead@example.com");
  ASSERT_EQ(evs.size(), 1u);
  const Event& ev = evs[0];
  // The provider's time, not the webhook's: Event Grid may deliver a day late.
  const int64_t attempt = now_ms() - 3 * 3600'000;
  EXPECT_NEAR(static_cast<double>(ev.ts_ms), static_cast<double>(attempt), 5000.0);
  EXPECT_EQ(ev.ts_ms % 1000, 123) << "milliseconds of .1234567 kept";
  EXPECT_NEAR(std::atof(ev.get("received_ts").c_str()), static_cast<double>(now_ms()), 10000.0);
  EXPECT_EQ(ev.get("provider_message_id"), "ev-1");
  EXPECT_EQ(ev.get("remote_mta"), "mx.example.net");
  EXPECT_EQ(ev.get("queue_id"), "4QKID") << "matched to the relay's bg:mid: record";
  EXPECT_EQ(ev.get("sender"), "app@example.com") << "the original sender, from bg:mid:";
  auto rep =
      run({bin("bouncegate"), "--config", config_, "report", "--address", "dead@example.com"});
  EXPECT_NE(rep.out.find("provider_message_id=ev-1"), std::string::npos) << rep.out;
  EXPECT_NE(rep.out.find("remote_mta=mx.example.net"), std::string::npos) << rep.out;
  EXPECT_NE(rep.out.find(utc_iso(ev.ts_ms)), std::string::npos) << rep.out;
}

TEST_F(WebTest, SuppressedReportsStepTheLeaseAndALaterDeliveryIsShown) {
  auto post = [&](const std::string& id, const std::string& status, int64_t ago) {
    return post_events("[" + delivery_report(id, "held@example.com", status, "", "", ago) + "]");
  };
  ASSERT_EQ(post("s-1", "Suppressed", 60'000).status, 200);
  EXPECT_EQ(store_->get("held@example.com")->level, 0);
  ASSERT_EQ(post("s-2", "Suppressed", 30'000).status, 200);
  auto e = store_->get("held@example.com");
  EXPECT_EQ(e->level, 1) << "ACS refused again from its list: one step, as a gate hit";
  EXPECT_NEAR(static_cast<double>(e->ttl_ms), 48 * 3600'000.0, 10'000.0);
  // Event Grid delivers at least once: the same report again changes nothing.
  EXPECT_EQ(post("s-2", "Suppressed", 30'000).body, R"({"recorded":0,"duplicates":1,"ignored":0})");
  EXPECT_EQ(store_->get("held@example.com")->level, 1);
  // A delivery older than the entry (out of order) is recorded but not shown as "since";
  // a later one is.
  ASSERT_EQ(post("d-old", "Delivered", 3600'000).status, 200);
  EXPECT_EQ(store_->get("held@example.com")->delivered_ms, 0);
  ASSERT_EQ(post("d-new", "Delivered", 1000).status, 200);
  EXPECT_GT(store_->get("held@example.com")->delivered_ms, 0);
  auto show = run({bin("bouncegate"), "--config", config_, "--json", "show", "held@example.com"});
  EXPECT_NE(show.out.find("\"delivered_after\":"), std::string::npos) << show.out;
}

TEST_F(WebTest, BadJsonOrSchemaIs400AndNothingOfTheBatchIsRecorded) {
  EXPECT_EQ(post_events("[{\"id\":").status, 400);
  EXPECT_EQ(post_events("{\"id\":\"x\",}").status, 400);
  EXPECT_EQ(post_events("[]").status, 400);
  EXPECT_EQ(post_events("\"just a string\"").status, 400);
  // One good event and one without a recipient: the whole batch is refused.
  std::string good = delivery_report("s1", "first@example.com", "Bounced", "550 5.1.1 unknown");
  std::string bad = delivery_report("s2", "not an address", "Bounced", "550 5.1.1 unknown");
  auto r = post_events("[" + good + "," + bad + "]");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("event 1"), std::string::npos) << r.body;
  EXPECT_FALSE(store_->get("first@example.com").has_value());
  EXPECT_TRUE(events_for("first@example.com").empty());
  // The good event was not marked as seen: sent again alone, it is recorded.
  EXPECT_EQ(post_events("[" + good + "]").body, R"({"recorded":1,"duplicates":0,"ignored":0})");
}

TEST_F(WebTest, SlowClientIsCutOffAtTheRequestTimeoutWhileOthersAreServed) {
  int fd = connect_loopback(port_, 0);
  ASSERT_GE(fd, 0);
  std::string partial = "GET /healthz HTTP/1.1\r\nHost: x\r\n";  // never finished
  ASSERT_EQ(send(fd, partial.data(), partial.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(partial.size()));
  EXPECT_EQ(http_request(port_, "GET", "/healthz").status, 200);
  timeval tv{6, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto started = std::chrono::steady_clock::now();
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  auto waited = std::chrono::steady_clock::now() - started;
  close(fd);
  EXPECT_EQ(n, 0) << "the server closes the connection";
  EXPECT_LT(waited, std::chrono::seconds(4)) << "request_timeout is 2s";
}

TEST_F(WebTest, OversizedBodyIs413) {
  std::string big = "[" + std::string(70 * 1024, ' ') + "]";
  EXPECT_EQ(post_events(big).status, 413);
}

TEST_F(WebTest, StoreDownIs503WithRetryAfterAndTheRetryIsRecorded) {
  std::string batch =
      "[" + delivery_report("r1", "later@example.com", "Bounced", "550 5.1.1 unknown") + "]";
  redis_.stop();
  auto r = post_events(batch);
  EXPECT_EQ(r.status, 503);
  EXPECT_FALSE(r.header("retry-after").empty());
  std::string token = seal_with_cli("news", "later@example.com");
  auto u = http_request(port_, "POST", "/u/" + token, "List-Unsubscribe=One-Click");
  EXPECT_EQ(u.status, 503);
  redis_.start();
  // Like Event Grid, retry until the server's store connection is back (reconnect backoff).
  HttpReply retry;
  for (int i = 0; i < 50; ++i) {
    retry = post_events(batch);
    if (retry.status != 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(retry.body, R"({"recorded":1,"duplicates":0,"ignored":0})");
  EXPECT_TRUE(store_->get("later@example.com").has_value());
  EXPECT_EQ(http_request(port_, "POST", "/u/" + token, "List-Unsubscribe=One-Click").status, 200);
}

TEST_F(WebTest, EventWhoseRecordFailsAfterTheDedupeMarkIsNotLost) {
  // Redis refuses the record script but allows SET/DEL: the mark is set, then removed.
  EXPECT_EQ(redis_.cli({"ACL", "SETUSER", "default", "-eval", "-evalsha"}), "OK\n");
  std::string batch =
      "[" + delivery_report("m1", "marked@example.com", "Bounced", "550 5.1.1 unknown") + "]";
  EXPECT_EQ(post_events(batch).status, 503);
  EXPECT_EQ(redis_.cli({"EXISTS", "bg:seen:acs:m1"}), "0\n");
  EXPECT_EQ(redis_.cli({"ACL", "SETUSER", "default", "+@all"}), "OK\n");
  EXPECT_EQ(post_events(batch).body, R"({"recorded":1,"duplicates":0,"ignored":0})");
  EXPECT_TRUE(store_->get("marked@example.com").has_value());
}

TEST_F(WebTest, SighupReloadsTheSecret) {
  std::string validation =
      R"([{"id":"v","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",)"
      R"("data":{"validationCode":"c1"}}])";
  dir_.file("eg.secret", "rotated-secret\n");
  EXPECT_EQ(post_events(validation, "rotated-secret").status, 403) << "not before the reload";
  web_->signal(SIGHUP);
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    status = post_events(validation, "rotated-secret").status;
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(post_events(validation).status, 403);
  // A broken configuration is refused on reload; the running one stays.
  dir_.file("bouncegate.yaml", "web: {listen: [not, a, string]}\n");
  web_->signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(post_events(validation, "rotated-secret").status, 200);
}

TEST_F(WebTest, SigtermStopsCleanly) {
  EXPECT_EQ(web_->stop(SIGTERM), 0);
}

// Datagrams the daemon sends to $NOTIFY_SOCKET, collected until `want` arrives or 5 s pass.
std::string notifications_until(int fd, const std::string& want, std::string seen) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (seen.find(want) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) seen.append(buf, static_cast<size_t>(n)).append("\n");
  }
  return seen;
}

TEST_F(WebTest, NotifiesSystemdReadyWatchdogAndStopping) {
  web_->stop(SIGTERM);
  std::string path = dir_.path() + "/notify";
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{0, 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto web = start_web(config_, port_, dir_.path() + "/web2.log",
                       {"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=200000"});
  std::string seen = notifications_until(fd, "READY=1", "");
  EXPECT_NE(seen.find("READY=1"), std::string::npos) << seen;
  seen = notifications_until(fd, "WATCHDOG=1", seen);
  EXPECT_NE(seen.find("WATCHDOG=1"), std::string::npos) << seen;
  EXPECT_EQ(http_request(port_, "GET", "/healthz").status, 200);
  EXPECT_EQ(web->stop(SIGTERM), 0);
  seen = notifications_until(fd, "STOPPING=1", seen);
  EXPECT_NE(seen.find("STOPPING=1"), std::string::npos) << seen;
  close(fd);
}

TEST(WebCheckConfig, ExitCodes) {
  TempDir dir;
  std::string good =
      dir.file("good.yaml", config_yaml(6379, "[24h]", "web: {listen: 127.0.0.1:8025}\n"));
  std::string bad = dir.file("bad.yaml", config_yaml(6379, "[24h]", "web: {listen: nowhere}\n"));
  std::string unknown = dir.file("unknown.yaml", config_yaml(6379, "[24h]", "web: {lisen: x}\n"));
  EXPECT_EQ(run({bin("bouncegate-web"), "--config", good, "--check-config"}).exit_code, 0);
  EXPECT_EQ(run({bin("bouncegate-web"), "--config", bad, "--check-config"}).exit_code, 78);
  EXPECT_EQ(run({bin("bouncegate-web"), "--config", unknown, "--check-config"}).exit_code, 78);
  EXPECT_EQ(run({bin("bouncegate-web"), "--config", dir.path() + "/missing.yaml", "--check-config"})
                .exit_code,
            78);
}

}  // namespace
}  // namespace bouncegate::test

namespace bouncegate::test {
namespace {

// RFC 9112 6.3: a request whose Transfer-Encoding does not end in chunked cannot be framed and
// is refused with 400 before any body is read; it is never read as an empty body (the events
// it carries would be lost or, behind a proxy that frames it differently, smuggled).
TEST_F(WebTest, TransferEncodingNotEndingInChunkedIs400) {
  for (std::string te : {"xchunked", "chunked, identity", "chunked, chunked", "identity"}) {
    SmtpClient c(port_);
    c.send("POST /acs/events?code=" + std::string(kSecret) +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + te +
           "\r\nContent-Type: application/json\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(c.reply().substr(0, 12), "HTTP/1.1 400") << te;
  }
  SmtpClient both(port_);
  both.send("POST /acs/events?code=" + std::string(kSecret) +
            " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"
            "\r\n0\r\n\r\n");
  EXPECT_EQ(both.reply().substr(0, 12), "HTTP/1.1 400");
  SmtpClient gzip(port_);
  gzip.send("POST /acs/events?code=" + std::string(kSecret) +
            " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(gzip.reply().substr(0, 12), "HTTP/1.1 501");
  // A well-framed chunked request still works.
  SmtpClient ok(port_);
  ok.send("OPTIONS /acs/events?code=" + std::string(kSecret) +
          " HTTP/1.1\r\nHost: 127.0.0.1\r\nWebHook-Request-Origin: eventgrid.azure.net\r\n"
          "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(ok.reply().substr(0, 12), "HTTP/1.1 200");
}

}  // namespace
}  // namespace bouncegate::test
