// Every daemon outlives SIGPIPE: hiredis and libcurl write with write(2), so a peer that closed
// its socket (Redis killed, a client gone) raises it; it must cost one error, not the process.
#include <gtest/gtest.h>

#include <csignal>

#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

class DaemonSigpipe : public ::testing::Test {
 protected:
  void SetUp() override {
    milter_port_ = test::free_port();
    relay_port_ = test::free_port();
    web_port_ = test::free_port();
    config_ = dir_.file(
        "bouncegate.yaml",
        test::config_yaml(
            redis_.port(), "[24h, 48h]",
            "milter: {socket: 'inet:" + std::to_string(milter_port_) +
                "@127.0.0.1'}\nrelay:\n  listen: ['127.0.0.1:" + std::to_string(relay_port_) +
                "']\n  upstream: {host: 127.0.0.1, port: 9, tls: none, insecure: "
                "true}\nweb: {listen: '127.0.0.1:" +
                std::to_string(web_port_) + "'}\n"));
  }
  // Starts `daemon`, sends it SIGPIPE three times and expects it still to serve `port` and to
  // stop cleanly on SIGTERM.
  void survives_sigpipe(const std::string& daemon, int port) {
    test::DaemonProcess d({test::bin(daemon), "--config", config_}, dir_.path() + "/d.log");
    ASSERT_TRUE(test::wait_for_port(port, 5000)) << d.log();
    for (int i = 0; i < 3; ++i) d.signal(SIGPIPE);
    usleep(200'000);
    EXPECT_TRUE(d.running()) << daemon << " died of SIGPIPE\n" << d.log();
    EXPECT_TRUE(test::wait_for_port(port, 2000)) << d.log();
    EXPECT_EQ(d.stop(SIGTERM), 0) << d.log();
  }
  test::RedisServer redis_;
  test::TempDir dir_;
  std::string config_;
  int milter_port_, relay_port_, web_port_;
};

TEST_F(DaemonSigpipe, RelaySurvives) {
  survives_sigpipe("bouncegate-relay", relay_port_);
}
TEST_F(DaemonSigpipe, WebSurvives) {
  survives_sigpipe("bouncegate-web", web_port_);
}
TEST_F(DaemonSigpipe, MilterSurvives) {
  survives_sigpipe("bouncegate-milter", milter_port_);
}

}  // namespace
}  // namespace bouncegate
