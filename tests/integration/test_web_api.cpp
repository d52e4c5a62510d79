// The HTTP suppression API end to end: the built bouncegate-web on a free port, a real
// redis-server, and curl as the client. Every route, every status of web/api_routes.cpp, token
// scopes, malformed bodies, and a Redis outage.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "core/store.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/loopback.hpp"
#include "web/api_routes.hpp"

namespace bouncegate::test {
namespace {

constexpr const char* kWriteToken = "w-5b0e7c2d9a1f4e6b8c3d";
constexpr const char* kReadToken = "r-1a2b3c4d5e6f7a8b9c0d";

struct ApiReply {
  int status = 0;
  std::string body;
  std::string headers;  // as received, lower-cased
  bool has(const std::string& s) const { return body.find(s) != std::string::npos; }
};

class WebApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = free_port();
    std::string w = dir_.file("writer.token", std::string(kWriteToken) + "\n");
    std::string r = dir_.file("reader.token", std::string(kReadToken) + "\n");
    config_ = dir_.file(
        "bouncegate.yaml",
        config_yaml(redis_.port(), "[24h, 48h, 96h, 7d, 14d]",
                    "web:\n  listen: 127.0.0.1:" + std::to_string(port_) +
                        "\n  max_body: 1m\n  request_timeout: 5s\n  api:\n    max_batch: 1000\n"
                        "    tokens:\n      - {name: ci-writer, scope: write, token_file: " +
                        w + "}\n      - {name: dashboard, scope: read, token_file: " + r +
                        "}\nunsubscribe:\n  key_files: [" +
                        dir_.file("unsub.key", std::string(64, 'a') + "\n") +
                        "]\n  url_base: 'https://u.example/u/'\n  lists: [{id: news, sender: "
                        "'*@shop.example'}]\npolicies:\n  - {name: transactional, senders: "
                        "['receipts@shop.example'], bypass: [unsubscribe, complaint]}\n"));
    cfg_ = load_config(config_);
    store_ = std::make_unique<SuppressionStore>(cfg_->redis, cfg_->suppression);
    log_ = dir_.path() + "/web.log";
    web_ = std::make_unique<DaemonProcess>(
        std::vector<std::string>{bin("bouncegate-web"), "--config", config_}, log_);
    ASSERT_TRUE(wait_for_port(port_, 10000)) << web_->log();
  }

  ApiReply api(const std::string& method, const std::string& target, const std::string& body = "",
               const std::string& token = kWriteToken) {
    std::string head = dir_.path() + "/head.txt";
    std::vector<std::string> argv = {
        "curl", "-sS", "-g", "-X", method, "-D", head, "-w", "\n%{http_code}", "--max-time", "20"};
    if (!token.empty()) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token});
    if (!body.empty()) {
      std::string file = dir_.file("body.json", body);
      argv.insert(argv.end(),
                  {"-H", "Content-Type: application/json", "--data-binary", "@" + file});
    }
    argv.push_back("http://127.0.0.1:" + std::to_string(port_) + target);
    auto r = run(argv);
    ApiReply a;
    size_t nl = r.out.rfind('\n');
    if (nl == std::string::npos) {
      ADD_FAILURE() << "curl: " << r.err;
      return a;
    }
    a.status = std::atoi(r.out.c_str() + nl + 1);
    a.body = r.out.substr(0, nl);
    a.headers = run({"cat", head}).out;
    for (auto& c : a.headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return a;
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
  int port_ = 0;
  std::string config_, log_;
  std::shared_ptr<const Config> cfg_;
  std::unique_ptr<SuppressionStore> store_;
  std::unique_ptr<DaemonProcess> web_;
};

TEST_F(WebApiTest, TokensAndScopes) {
  // Every route refuses a request without a token, and one with a wrong token.
  for (const auto& r : web::api_routes()) {
    std::string path = r.path;
    if (auto b = path.find("{address}"); b != std::string::npos)
      path.replace(b, 9, "a@example.org");
    std::string body = std::string(r.method) == "POST" ? "{}" : "";
    EXPECT_EQ(api(r.method, path, body, "").status, 401) << r.method << " " << path;
    EXPECT_EQ(api(r.method, path, body, "wrong-token-0000000000").status, 401) << path;
  }
  auto none = api("GET", "/api/v1/suppressions", "", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_TRUE(none.has("\"code\":\"no_token\"")) << none.body;
  EXPECT_NE(none.headers.find("www-authenticate: bearer"), std::string::npos) << none.headers;
  auto wrong = api("GET", "/api/v1/suppressions", "", std::string(kWriteToken) + "x");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_TRUE(wrong.has("invalid_token"));
  EXPECT_EQ(api("GET", "/api/v1/suppressions", "", kReadToken).status, 200);
  auto ro = api("PUT", "/api/v1/suppressions/a@example.org", "{}", kReadToken);
  EXPECT_EQ(ro.status, 403);
  EXPECT_TRUE(ro.has("insufficient_scope")) << ro.body;
  EXPECT_FALSE(store_->get("a@example.org"));
  EXPECT_EQ(api("DELETE", "/api/v1/suppressions/a@example.org", "", kReadToken).status, 403);
  EXPECT_EQ(
      api("POST", "/api/v1/suppressions:import", "{\"address\":\"a@b.example\"}\n", kReadToken)
          .status,
      403);
  EXPECT_EQ(api("GET", "/api/v1/nothing").status, 404);
  auto wrong_method = api("PATCH", "/api/v1/suppressions/a@example.org");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_TRUE(wrong_method.has("method_not_allowed"));
  // Token values never reach the log; names do.
  api("PUT", "/api/v1/suppressions/logged@example.org", "{}");
  EXPECT_EQ(web_->log().find(kWriteToken), std::string::npos);
  EXPECT_EQ(web_->log().find(kReadToken), std::string::npos);
  EXPECT_NE(web_->log().find("ci-writer"), std::string::npos);
}

TEST_F(WebApiTest, PutGetDeleteOneAddress) {
  auto put = api("PUT", "/api/v1/suppressions/Bob@Example.ORG",
                 R"({"class":"hard","lease":"7d","reason":"ticket 17","code":"550 5.1.1"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_TRUE(put.has("\"address\":\"bob@example.org\"")) << put.body;
  size_t ttl_at = put.body.find("\"ttl_seconds\":");
  ASSERT_NE(ttl_at, std::string::npos) << put.body;
  EXPECT_NEAR(std::atof(put.body.c_str() + ttl_at + 14), 604800, 10) << put.body;
  EXPECT_EQ(store_->gate("bob@example.org", "", EventContext{}).result, GateResult::reject);
  bool by_token = false;
  for (const auto& ev : store_->events_since(0))
    by_token = by_token || (ev.get("addr") == "bob@example.org" && ev.get("kind") == "manual" &&
                            ev.get("source") == "api:ci-writer");
  EXPECT_TRUE(by_token) << "every write is an event with the token's name as source";
  auto got = api("GET", "/api/v1/suppressions/bob@example.org", "", kReadToken);
  EXPECT_EQ(got.status, 200);
  EXPECT_TRUE(got.has("\"suppressed\":true")) << got.body;
  EXPECT_TRUE(got.has("\"reason\":\"ticket 17\"")) << got.body;
  EXPECT_EQ(api("DELETE", "/api/v1/suppressions/bob@example.org").status, 200);
  EXPECT_EQ(api("GET", "/api/v1/suppressions/bob@example.org").status, 404);
  EXPECT_EQ(api("DELETE", "/api/v1/suppressions/bob@example.org").status, 404);

  // An unsubscription from one list, released for that list only.
  auto unsub = api("PUT", "/api/v1/suppressions/carol@example.org",
                   R"({"class":"unsubscribe","list":"news"})");
  ASSERT_EQ(unsub.status, 200) << unsub.body;
  EXPECT_TRUE(api("GET", "/api/v1/suppressions/carol@example.org").has("\"news\":{\"at\":"));
  EXPECT_EQ(store_->gate("carol@example.org", "news", EventContext{}).result,
            GateResult::unsubscribed);
  EXPECT_EQ(api("DELETE", "/api/v1/suppressions/carol@example.org?list=news").status, 200);
  EXPECT_EQ(store_->gate("carol@example.org", "news", EventContext{}).result, GateResult::pass);

  // A domain entry, with its sub-domains; percent-encoded or not.
  auto dom = api("PUT", "/api/v1/suppressions/%2A@held.example",
                 R"({"permanent":true,"subdomains":true,"reason":"legal hold"})");
  ASSERT_EQ(dom.status, 200) << dom.body;
  EXPECT_TRUE(dom.has("\"ttl_seconds\":-1")) << dom.body;
  EXPECT_EQ(store_->gate("x@mx.held.example", "", EventContext{}).result, GateResult::reject);

  // Refused with a stable code, nothing written.
  auto unknown = api("PUT", "/api/v1/suppressions/d@example.org", R"({"clas":"hard"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_TRUE(unknown.has("\"code\":\"bad_body\"")) << unknown.body;
  EXPECT_EQ(api("PUT", "/api/v1/suppressions/d@example.org", "{not json").status, 400);
  EXPECT_EQ(api("PUT", "/api/v1/suppressions/d@example.org", R"({"lease":"soon"})").status, 400);
  auto perm =
      api("PUT", "/api/v1/suppressions/d@example.org", R"({"class":"complaint","lease":"1d"})");
  EXPECT_EQ(perm.status, 400) << perm.body;
  auto bad_addr = api("PUT", "/api/v1/suppressions/not%20an%20address", "{}");
  EXPECT_EQ(bad_addr.status, 400);
  EXPECT_TRUE(bad_addr.has("bad_address")) << bad_addr.body;
  EXPECT_EQ(api("GET", "/api/v1/suppressions/%2A@com").status, 400);
  EXPECT_FALSE(store_->get("d@example.org"));
}

TEST_F(WebApiTest, ListPagesWithACursorAndFilters) {
  std::vector<OutcomeRecord> rows;
  for (int i = 0; i < 250; ++i) rows.push_back(hard("p" + std::to_string(i) + "@pages.example"));
  OutcomeRecord c = hard("angry@other.example");
  c.cls = OutcomeClass::complaint;
  c.action = Action::suppress_permanent;
  rows.push_back(c);
  store_->record_batch(rows);
  std::set<std::string> seen;
  std::string cursor = "0";
  int pages = 0;
  do {
    auto page = api("GET", "/api/v1/suppressions?domain=pages.example&limit=100&cursor=" + cursor,
                    "", kReadToken);
    ASSERT_EQ(page.status, 200) << page.body;
    for (size_t p = page.body.find("\"address\":\""); p != std::string::npos;
         p = page.body.find("\"address\":\"", p + 1)) {
      size_t s = p + 11;
      seen.insert(page.body.substr(s, page.body.find('"', s) - s));
    }
    ASSERT_LT(++pages, 50);
    size_t n = page.body.find("\"next_cursor\":");
    ASSERT_NE(n, std::string::npos) << page.body;
    if (page.body.compare(n + 14, 4, "null") == 0) break;
    size_t s = n + 15;
    cursor = page.body.substr(s, page.body.find('"', s) - s);
  } while (true);
  EXPECT_EQ(seen.size(), 250u);
  EXPECT_GE(pages, 2) << "250 entries at 100 per page take more than one page";
  auto complaints = api("GET", "/api/v1/suppressions?class=complaint&limit=1000");
  EXPECT_TRUE(complaints.has("angry@other.example")) << complaints.body;
  EXPECT_FALSE(complaints.has("@pages.example"));
  EXPECT_EQ(api("GET", "/api/v1/suppressions?since=2099-01-01T00:00:00Z").body.find("@"),
            std::string::npos);
  EXPECT_EQ(api("GET", "/api/v1/suppressions?limit=0").status, 400);
  EXPECT_EQ(api("GET", "/api/v1/suppressions?cursor=abc").status, 400);
  EXPECT_EQ(api("GET", "/api/v1/suppressions?class=nonsense").status, 400);
  EXPECT_EQ(api("GET", "/api/v1/suppressions?since=yesterday").status, 400);
}

TEST_F(WebApiTest, CheckAThousandAddressesReadOnly) {
  store_->record(hard("dead@example.net"));
  store_->unsubscribe("left@example.net", "news", EventContext{});
  OutcomeRecord d = hard("*@gone.example");
  d.action = Action::suppress_permanent;
  store_->record(d);
  std::string body = R"({"list":"news","addresses":["Dead@Example.NET","left@example.net",)"
                     R"("who@gone.example","not an address"]})";
  auto r = api("POST", "/api/v1/suppressions:check", body, kReadToken);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.has(R"({"address":"dead@example.net","decision":"reject","class":"hard")"))
      << r.body;
  EXPECT_TRUE(r.has(R"({"address":"left@example.net","decision":"unsubscribed")")) << r.body;
  EXPECT_TRUE(r.has(R"("entry":"*@gone.example")")) << r.body;
  EXPECT_TRUE(r.has(R"({"address":"not an address","decision":"invalid")")) << r.body;
  // Read only: no hit, no step, no event.
  EXPECT_EQ(store_->get("dead@example.net")->hits, 0);
  EXPECT_EQ(store_->get("dead@example.net")->level, 0);
  for (const auto& ev : store_->events_since(0)) EXPECT_NE(ev.get("kind"), "gate");

  std::string big = R"({"addresses":[)";
  for (int i = 0; i < 1000; ++i)
    big += std::string(i ? "," : "") + "\"u" + std::to_string(i) + "@example.net\"";
  auto thousand = api("POST", "/api/v1/suppressions:check", big + "]}");
  ASSERT_EQ(thousand.status, 200);
  size_t passes = 0;
  for (size_t p = thousand.body.find("\"pass\""); p != std::string::npos;
       p = thousand.body.find("\"pass\"", p + 1))
    ++passes;
  EXPECT_EQ(passes, 1000u);
  auto over = api("POST", "/api/v1/suppressions:check", big + ",\"one@more.example\"]}");
  EXPECT_EQ(over.status, 413);
  EXPECT_TRUE(over.has("batch_too_large"));
  EXPECT_EQ(api("POST", "/api/v1/suppressions:check", "[1,2]").status, 400);
  EXPECT_EQ(api("POST", "/api/v1/suppressions:check", R"({"addresses":[1]})").status, 400);
}

TEST_F(WebApiTest, CheckAppliesTheSendersPolicyAndList) {
  store_->unsubscribe("left@example.net", "news", EventContext{});
  OutcomeRecord c = hard("angry@example.net");
  c.cls = OutcomeClass::complaint;
  c.action = Action::suppress_permanent;
  store_->record(c);
  store_->record(hard("dead@example.net"));
  const std::string who =
      R"("addresses":["left@example.net","angry@example.net","dead@example.net"])";
  auto news =
      api("POST", "/api/v1/suppressions:check", R"({"sender":"letters@shop.example",)" + who + "}");
  ASSERT_EQ(news.status, 200) << news.body;
  EXPECT_TRUE(news.has(R"({"address":"left@example.net","decision":"unsubscribed")")) << news.body;
  EXPECT_TRUE(news.has(R"({"address":"angry@example.net","decision":"reject")")) << news.body;
  auto receipts = api("POST", "/api/v1/suppressions:check",
                      R"({"sender":"Receipts@Shop.Example",)" + who + "}");
  ASSERT_EQ(receipts.status, 200) << receipts.body;
  EXPECT_TRUE(receipts.has(R"({"address":"left@example.net","decision":"pass"})")) << receipts.body;
  EXPECT_TRUE(receipts.has(R"({"address":"angry@example.net","decision":"pass"})"))
      << receipts.body;
  EXPECT_TRUE(receipts.has(R"({"address":"dead@example.net","decision":"reject")"))
      << "a dead address stays refused for every stream: " << receipts.body;
  EXPECT_EQ(api("POST", "/api/v1/suppressions:check", R"({"sender":"not an address",)" + who + "}")
                .status,
            400);
}

TEST_F(WebApiTest, ImportNdjsonAllOrNothing) {
  auto ok = api("POST", "/api/v1/suppressions:import",
                "{\"address\":\"i1@imp.example\",\"class\":\"hard\"}\n"
                "{\"address\":\"i2@imp.example\",\"class\":\"complaint\"}\n\n"
                "{\"address\":\"i3@imp.example\",\"class\":\"unsubscribe\",\"list\":\"news\"}\n");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(ok.has("\"imported\":3")) << ok.body;
  EXPECT_EQ(store_->get("i2@imp.example")->ttl_ms, -1);
  EXPECT_EQ(store_->unsubscriptions("i3@imp.example").count("news"), 1u);
  bool summary = false;
  for (const auto& ev : store_->events_since(0))
    summary = summary || (ev.get("kind") == "import" && ev.get("source") == "api:ci-writer" &&
                          ev.get("rows") == "3");
  EXPECT_TRUE(summary);
  auto bad = api("POST", "/api/v1/suppressions:import",
                 "{\"address\":\"j1@imp.example\"}\n{\"address\":\"nope\"}\n[]\n");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(bad.has("\"line\":2")) << bad.body;
  EXPECT_TRUE(bad.has("\"line\":3")) << bad.body;
  EXPECT_FALSE(store_->get("j1@imp.example")) << "nothing written when a row is bad";
  std::string many;
  for (int i = 0; i < 1001; ++i)
    many += "{\"address\":\"m" + std::to_string(i) + "@imp.example\"}\n";
  EXPECT_EQ(api("POST", "/api/v1/suppressions:import", many).status, 413);
  EXPECT_FALSE(store_->get("m0@imp.example"));
}

TEST_F(WebApiTest, StatsAndReportAreTheCliFigures) {
  store_->record(hard("h1@stats.example"));
  store_->record(hard("h2@stats.example"));
  OutcomeRecord block = hard("b@stats.example");
  block.cls = OutcomeClass::reputation;
  block.action = Action::record;
  block.text = "554 5.7.1 rejected due to local policy";
  store_->record(block);
  auto s = api("GET", "/api/v1/stats?domain=stats.example", "", kReadToken);
  ASSERT_EQ(s.status, 200) << s.body;
  auto cli =
      run({bin("bouncegate"), "--config", config_, "--json", "stats", "--domain", "stats.example"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  // The CLI's line for the domain, without its braces, is inside the API's object.
  std::string line = cli.out.substr(0, cli.out.find('\n'));
  ASSERT_GT(line.size(), 2u);
  EXPECT_TRUE(s.has(line.substr(1, line.size() - 2))) << s.body << "\n" << line;
  EXPECT_TRUE(s.has("\"total\":3")) << s.body;
  auto rep = api("GET", "/api/v1/report?domain=stats.example&class=reputation");
  ASSERT_EQ(rep.status, 200);
  EXPECT_TRUE(rep.has("local policy")) << rep.body;
  EXPECT_FALSE(rep.has("h1@stats.example")) << rep.body;
  EXPECT_EQ(api("GET", "/api/v1/report?since=never").status, 400);
  EXPECT_EQ(api("GET", "/api/v1/stats?until=bad").status, 400);
}

TEST_F(WebApiTest, RedisDownIs503WithRetryAfter) {
  redis_.stop();
  for (auto [m, t, b] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "/api/v1/suppressions/x@example.org", ""},
           {"PUT", "/api/v1/suppressions/x@example.org", "{}"},
           {"DELETE", "/api/v1/suppressions/x@example.org", ""},
           {"GET", "/api/v1/suppressions", ""},
           {"POST", "/api/v1/suppressions:check", R"({"addresses":["x@example.org"]})"},
           {"POST", "/api/v1/suppressions:import", "{\"address\":\"x@example.org\"}\n"},
           {"GET", "/api/v1/stats", ""},
           {"GET", "/api/v1/report", ""}}) {
    auto r = api(m, t, b);
    EXPECT_EQ(r.status, 503) << m << " " << t << ": " << r.body;
    EXPECT_TRUE(r.has("store_unavailable")) << r.body;
    EXPECT_NE(r.headers.find("retry-after: "), std::string::npos) << r.headers;
  }
  redis_.start();
  // Back once Redis is: the pool reconnects after its backoff.
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = api("PUT", "/api/v1/suppressions/x@example.org", "{}").status;
  }
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace bouncegate::test
