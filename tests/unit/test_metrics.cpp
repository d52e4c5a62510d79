// Metrics: Prometheus text rendering, histogram buckets, bounded domain labels, and the HTTP
// endpoint answering a real request on loopback.
#include <gtest/gtest.h>

#include "core/metrics.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

TEST(Metrics, RendersCountersAndHistograms) {
  auto& m = Metrics::instance();
  m.describe("bg_test_decisions_total", "counter", "Test decisions.");
  m.inc("bg_test_decisions_total", {{"result", "reject"}, {"class", "hard"}});
  m.inc("bg_test_decisions_total", {{"result", "reject"}, {"class", "hard"}});
  m.observe("bg_test_latency_seconds", 0.003);
  std::string text = m.render();
  EXPECT_NE(text.find("# TYPE bg_test_decisions_total counter"), std::string::npos);
  EXPECT_NE(text.find("bg_test_decisions_total{result=\"reject\",class=\"hard\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("bg_test_latency_seconds_bucket{le=\"0.0025\"} 0"), std::string::npos)
      << text;
  EXPECT_NE(text.find("bg_test_latency_seconds_bucket{le=\"0.005\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("bg_test_latency_seconds_count 1"), std::string::npos);
}

TEST(Metrics, DomainLabelsAreBounded) {
  auto& m = Metrics::instance();
  m.set_top_domains({"gmail.com", "icloud.com"});
  EXPECT_EQ(m.domain_label("icloud.com"), "icloud.com");
  EXPECT_EQ(m.domain_label("customer-1234.example"), "other");
}

TEST(Metrics, ServesOverHttp) {
  Metrics::instance().inc("bg_test_http_total");
  MetricsServer server("127.0.0.1:0");
  auto r = test::run({"bash", "-c",
                      "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(server.port()) +
                          "; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"});
  EXPECT_NE(r.out.find("HTTP/1.1 200 OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bg_test_http_total 1"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace bouncegate
