// Each daemon serves Prometheus metrics on its configured loopback port: the series move with
// real traffic (web requests, relay sessions, milter gate decisions) and carry no addresses.
#include <gtest/gtest.h>

#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/scripted_upstream.hpp"

namespace bouncegate {
namespace {

std::string http_get(int port, const std::string& path) {
  return test::run({"curl", "-s", "-i", "--max-time", "10",
                    "http://127.0.0.1:" + std::to_string(port) + path})
      .out;
}

std::string scrape(int port) {
  for (int i = 0; i < 50; ++i) {
    std::string out = http_get(port, "/metrics");
    if (out.find("200 OK") != std::string::npos) return out;
    usleep(100'000);
  }
  return "";
}

class DaemonMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    milter_port_ = test::free_port();
    relay_port_ = test::free_port();
    web_port_ = test::free_port();
    m1_ = test::free_port();
    m2_ = test::free_port();
    m3_ = test::free_port();
    config_ = dir_.file(
        "bouncegate.yaml",
        test::config_yaml(redis_.port(), "[24h, 48h]",
                          "milter: {socket: 'inet:" + std::to_string(milter_port_) +
                              "@127.0.0.1'}\n"
                              "relay:\n  listen: ['127.0.0.1:" +
                              std::to_string(relay_port_) +
                              "']\n  upstream: {host: 127.0.0.1, port: 9, tls: none, insecure: "
                              "true}\n"
                              "web: {listen: '127.0.0.1:" +
                              std::to_string(web_port_) + "'}\n" +
                              "metrics:\n  milter_listen: 127.0.0.1:" + std::to_string(m1_) +
                              "\n  relay_listen: 127.0.0.1:" + std::to_string(m2_) +
                              "\n  web_listen: 127.0.0.1:" + std::to_string(m3_) +
                              "\n  top_domains: [example.com]\n"));
  }
  test::RedisServer redis_;
  test::TempDir dir_;
  std::string config_;
  int milter_port_, relay_port_, web_port_, m1_, m2_, m3_;
};

TEST_F(DaemonMetrics, WebCountsRequestsByRouteAndStatus) {
  test::DaemonProcess web({test::bin("bouncegate-web"), "--config", config_},
                          dir_.path() + "/web.log");
  ASSERT_TRUE(test::wait_for_port(web_port_, 5000)) << web.log();
  http_get(web_port_, "/u/not-a-token");
  std::string m = scrape(m3_);
  EXPECT_NE(m.find("bouncegate_web_requests_total{route=\"/u/\",status=\"404\"} 1"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("not-a-token"), std::string::npos);
  EXPECT_EQ(web.stop(SIGTERM), 0);
}

TEST_F(DaemonMetrics, RelayCountsSessionsAndUpstreamFailures) {
  test::DaemonProcess relay({test::bin("bouncegate-relay"), "--config", config_},
                            dir_.path() + "/relay.log");
  ASSERT_TRUE(test::wait_for_port(relay_port_, 5000)) << relay.log();
  // Upstream port 9 is closed: the RCPT draws 421 4.4.1 from the relay.
  auto r = test::run({"bash", "-c",
                      "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(relay_port_) +
                          "; printf 'EHLO t\\r\\nMAIL FROM:<a@example.com>\\r\\nRCPT "
                          "TO:<b@example.com>\\r\\nQUIT\\r\\n' >&3; timeout 20 cat <&3"});
  EXPECT_NE(r.out.find("421 4.4.1"), std::string::npos) << r.out;
  std::string m = scrape(m2_);
  // wait_for_port's probe is a session too.
  EXPECT_NE(m.find("bouncegate_relay_sessions_total 2"), std::string::npos) << m;
  EXPECT_NE(m.find("bouncegate_relay_sessions_active 0"), std::string::npos) << m;
  EXPECT_NE(m.find("bouncegate_relay_upstream_failures_total{reply=\"421 4.4.1\"} 1"),
            std::string::npos)
      << m;
  EXPECT_EQ(relay.stop(SIGTERM), 0);
}

TEST_F(DaemonMetrics, RelayCountsUpstreamRepliesByClassAndPoolState) {
  test::ScriptedUpstream upstream(test::UpstreamScript{});
  std::string cfg = dir_.file(
      "relay.yaml",
      test::config_yaml(
          redis_.port(), "[24h, 48h]",
          "relay:\n  listen: ['127.0.0.1:" + std::to_string(relay_port_) +
              "']\n  upstream: {host: 127.0.0.1, port: " + std::to_string(upstream.port()) +
              ", tls: none, insecure: true}\nmetrics:\n  relay_listen: 127.0.0.1:" +
              std::to_string(m2_) + "\n  top_domains: [example.com]\n"));
  test::DaemonProcess relay({test::bin("bouncegate-relay"), "--config", cfg},
                            dir_.path() + "/relay2.log");
  ASSERT_TRUE(test::wait_for_port(relay_port_, 5000)) << relay.log();
  // One delivered message, then a recipient the upstream refuses with 550 5.1.1.
  auto r = test::run(
      {"bash", "-c",
       "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(relay_port_) +
           "; printf 'EHLO t\\r\\nMAIL FROM:<a@example.com>\\r\\nRCPT TO:<ok-1@example.com>\\r\\n"
           "DATA\\r\\nSubject: m\\r\\n\\r\\nbody\\r\\n.\\r\\nMAIL FROM:<a@example.com>\\r\\n"
           "RCPT TO:<bounce-1@example.com>\\r\\nQUIT\\r\\n' >&3; timeout 20 cat <&3"});
  EXPECT_NE(r.out.find("550 5.1.1"), std::string::npos) << r.out;
  std::string m = scrape(m2_);
  EXPECT_NE(m.find("bouncegate_relay_upstream_replies_total{code_class=\"2xx\",class=\"delivered\","
                   "domain=\"example.com\"}"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("bouncegate_relay_upstream_replies_total{code_class=\"5xx\",class=\"hard\","
                   "domain=\"example.com\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("bouncegate_relay_upstream_connections_total{kind=\"new\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("bouncegate_relay_upstream_connections_total{kind=\"reused\"} "),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("# TYPE bouncegate_relay_upstream_pool_idle "
                   "gauge\nbouncegate_relay_upstream_pool_idle 1"),
            std::string::npos)
      << m;
  EXPECT_EQ(relay.stop(SIGTERM), 0);
}

TEST_F(DaemonMetrics, MilterExportsStoreAndGateSeries) {
  test::run({test::bin("bouncegate"), "--config", config_, "add", "dead@example.com"});
  test::DaemonProcess milter({test::bin("bouncegate-milter"), "--config", config_},
                             dir_.path() + "/milter.log");
  ASSERT_TRUE(test::wait_for_port(milter_port_, 5000)) << milter.log();
  const std::string lua[] = {
      "local conn = mt.connect('inet:" + std::to_string(milter_port_) + "@127.0.0.1', 50, 0.1)",
      "assert(conn, 'connect')",
      "if not mt.test_option(conn, SMFIP_NOCONNECT) then",
      "  assert(mt.conninfo(conn, 'localhost', '127.0.0.1') == nil)",
      "end",
      "assert(mt.mailfrom(conn, '<app@example.com>') == nil)",
      "assert(mt.getreply(conn) == SMFIR_CONTINUE, 'MAIL')",
      "assert(mt.rcptto(conn, '<dead@example.com>') == nil)",
      "assert(mt.getreply(conn) == SMFIR_REPLYCODE, 'not refused')",
      "mt.disconnect(conn)"};
  std::string text;
  for (const auto& l : lua) text += l + "\n";
  std::string script = dir_.file("gate.lua", text);
  auto r = test::run({"miltertest", "-s", script});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << milter.log();
  std::string m = scrape(m1_);
  EXPECT_NE(m.find("bouncegate_gate_decisions_total{result=\"reject\",class=\"hard\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("bouncegate_store_call_seconds_count{op=\"gate\"} 1"), std::string::npos) << m;
  EXPECT_EQ(m.find("dead@example.com"), std::string::npos);
  EXPECT_EQ(milter.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace bouncegate
