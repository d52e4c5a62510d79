// bouncegate-web's request handler called directly (no sockets) with a real Redis behind it:
// routes and status codes, as the relay's protocol library is tested apart from its daemon.
#include <gtest/gtest.h>

#include "core/config.hpp"
#include "tests/support/harness.hpp"
#include "web/http_handler.hpp"

namespace bouncegate {
namespace {

class WebHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string key =
        dir_.file("k.key", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    std::string secret = dir_.file("eg.secret", "s3cret\n");
    std::string cfg = dir_.file("c.yaml", test::config_yaml(redis_.port()) +
                                              "web: {event_grid_secret_file: " + secret +
                                              "}\nunsubscribe: {key_files: [" + key +
                                              "], url_base: 'https://u.example/u/'}\n");
    state_ = web::load_web_state(cfg);
  }
  web::Response call(boost::beast::http::verb method, const std::string& target,
                     const std::string& body = "") {
    web::Request req{method, target, 11};
    req.body() = body;
    req.prepare_payload();
    return web::handle_request(*state_, req, "T1");
  }
  test::RedisServer redis_;
  test::TempDir dir_;
  std::shared_ptr<const web::WebState> state_;
};

using boost::beast::http::status;
using boost::beast::http::verb;

TEST_F(WebHandlerTest, RoutesAndStatusCodes) {
  EXPECT_EQ(call(verb::get, "/healthz").result(), status::ok);
  EXPECT_EQ(call(verb::get, "/nowhere").result(), status::not_found);
  EXPECT_EQ(call(verb::post, "/acs/events").result(), status::unauthorized) << "no ?code=";
  EXPECT_EQ(call(verb::post, "/acs/events?code=wrong").result(), status::forbidden);
  auto get = call(verb::get, "/acs/events?code=s3cret");
  EXPECT_EQ(get.result(), status::method_not_allowed);
  EXPECT_EQ(get[boost::beast::http::field::allow], "POST, OPTIONS");
  EXPECT_EQ(call(verb::post, "/acs/events?code=s3cret", "[{").result(), status::bad_request);
  auto put = call(verb::put, "/u/abc");
  EXPECT_EQ(put.result(), status::method_not_allowed);
  EXPECT_EQ(call(verb::get, "/u/not-a-token").result(), status::bad_request);
  EXPECT_EQ(call(verb::get, "/healthz")[boost::beast::http::field::server], "bouncegate-web");
}

TEST_F(WebHandlerTest, DeliveryReportIsRecordedOnceThroughTheStore) {
  std::string body =
      R"([{"id":"ev-1","eventType":"Microsoft.Communication.EmailDeliveryReportReceived",)"
      R"("data":{"recipient":"gone@example.org","status":"Bounced",)"
      R"("deliveryStatusDetails":{"statusMessage":"550 5.1.1 user unknown"}}}])";
  auto first = call(verb::post, "/acs/events?code=s3cret", body);
  EXPECT_EQ(first.result(), status::ok) << first.body();
  EXPECT_NE(first.body().find("\"recorded\":1"), std::string::npos) << first.body();
  auto again = call(verb::post, "/acs/events?code=s3cret", body);
  EXPECT_NE(again.body().find("\"duplicates\":1"), std::string::npos) << again.body();
  auto e = state_->store->get("gone@example.org");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->cls, OutcomeClass::hard);
}

}  // namespace
}  // namespace bouncegate

// docs/openapi.yaml describes exactly the routes of web/api_routes.cpp: every path, every
// method, every status code, no more and no fewer.
#include <yaml-cpp/yaml.h>

#include "tests/support/harness.hpp"
#include "web/api_routes.hpp"

namespace bouncegate::web {
namespace {

TEST(OpenApiDocument, MatchesTheRouteTable) {
  YAML::Node doc = YAML::LoadFile(test::source_path("docs/openapi.yaml"));
  ASSERT_EQ(doc["openapi"].as<std::string>().rfind("3.1", 0), 0u);
  std::map<std::string, std::map<std::string, std::set<int>>> documented, implemented;
  for (const auto& p : doc["paths"])
    for (const auto& m : p.second) {
      std::string method = m.first.as<std::string>();
      if (method == "parameters" || method == "summary" || method == "description") continue;
      std::set<int>& codes = documented[p.first.as<std::string>()][method];
      for (const auto& r : m.second["responses"])
        codes.insert(std::stoi(r.first.as<std::string>()));
    }
  for (const auto& r : api_routes()) {
    std::string method = r.method;
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    implemented[r.path][method] = std::set<int>(r.statuses.begin(), r.statuses.end());
  }
  EXPECT_EQ(documented, implemented);
}

}  // namespace
}  // namespace bouncegate::web
