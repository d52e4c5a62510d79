// The relay's one promise: its client hears 250 at end of data only when the upstream accepted
// that very message. Sessions run concurrently over pooled upstream connections; some messages
// are refused upstream (554), some draw surplus replies at once or 200 ms late (what smuggled
// commands would draw). Every 250 must name a message the upstream captured, every refusal
// one it did not.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/scripted_upstream.hpp"
#include "tests/support/smtp_client.hpp"

namespace bouncegate::test {
namespace {

std::string captured_subjects(const std::string& dir) {
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    all += ss.str();
  }
  return all;
}

TEST(RelayPromise, NoFalse250UnderInterleavingRefusalsAndSurplusReplies) {
  RedisServer redis;
  TempDir dir;
  std::string capture = dir.path() + "/captured";
  std::filesystem::create_directories(capture);
  UpstreamScript script;
  script.capture_dir = capture;
  ScriptedUpstream upstream(script);
  int port = free_port();
  std::string cfg = dir.file(
      "bouncegate.yaml",
      config_yaml(redis.port()) + "relay:\n  listen: [\"127.0.0.1:" + std::to_string(port) +
          "\"]\n  upstream:\n    host: 127.0.0.1\n    port: " + std::to_string(upstream.port()) +
          "\n    tls: none\n    insecure: true\n    pool_size: 2\n");
  DaemonProcess relay({bin("bouncegate-relay"), "--config", cfg}, dir.path() + "/relay.log");
  ASSERT_TRUE(wait_for_port(port, 5000)) << relay.log();

  const char* kinds[] = {"ok", "blocked", "surplus", "surpluslate"};
  struct Result {
    std::string subject, reply;
  };
  std::mutex mu;
  std::vector<Result> results;
  auto worker = [&](int w) {
    for (int i = 0; i < 12; ++i) {
      std::string kind = kinds[(w + i) % 4];
      std::string subject = "m-" + std::to_string(w) + "-" + std::to_string(i);
      SmtpClient c(port);
      c.reply();
      c.send("EHLO client.example\r\n");
      c.reply();
      c.send("MAIL FROM:<app@example.com>\r\nRCPT TO:<" + kind + "-" + subject +
             "@example.net>\r\nDATA\r\n");
      c.reply();
      c.reply();
      std::string go = c.reply();
      std::string end = go.rfind("354", 0) == 0
                            ? (c.send("Subject: " + subject + "\r\n\r\nbody\r\n.\r\n"), c.reply())
                            : go;
      c.send("QUIT\r\n");
      c.reply();
      std::lock_guard lock(mu);
      results.push_back({subject, end});
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) threads.emplace_back(worker, w);
  for (auto& t : threads) t.join();
  std::string seen = captured_subjects(capture);
  int accepted = 0;
  for (const auto& r : results) {
    bool upstream_took = seen.find("Subject: " + r.subject + "\r\n") != std::string::npos;
    if (r.reply.rfind("250", 0) == 0) {
      ++accepted;
      EXPECT_TRUE(upstream_took) << r.subject << " got " << r.reply << " but never arrived";
    } else {
      EXPECT_FALSE(upstream_took) << r.subject << " was delivered but refused: " << r.reply;
    }
  }
  EXPECT_EQ(results.size(), 48u);
  EXPECT_EQ(accepted, 36);  // all but the 12 "blocked" ones, whatever the surplus did
  EXPECT_EQ(relay.stop(SIGTERM, 15000), 0) << relay.log().substr(0, 3000);
}

}  // namespace
}  // namespace bouncegate::test
