// RCPT decisions through the Postfix policy delegation protocol (check_policy_service): each
// connection sends one RCPT-state request, waits for its action, and sends the next, as
// Postfix's smtpd does over its kept-open policy connections. Prints decisions/s, p50, p99.
//   policy_bench --port P [--config FILE (seeds 10% of the addresses as suppressed)]
//                [--connections 8] [--seconds 3] [--label gate]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "bench/bench_support.hpp"

namespace {

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  return fd;
}

// One request, one answer ("action=...\n\n"); returns the action line.
std::string ask(int fd, const std::string& request, std::string& buf) {
  for (size_t off = 0; off < request.size();) {
    ssize_t n = write(fd, request.data() + off, request.size() - off);
    if (n <= 0) throw std::runtime_error("policy service closed the connection");
    off += static_cast<size_t>(n);
  }
  for (;;) {
    if (auto end = buf.find("\n\n"); end != std::string::npos) {
      std::string answer = buf.substr(0, end);
      buf.erase(0, end + 2);
      return answer;
    }
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0) throw std::runtime_error("policy service closed the connection");
    buf.append(tmp, static_cast<size_t>(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  namespace b = bouncegate::bench;
  std::map<std::string, std::string> o;
  if (!b::parse_options(argc, argv, {"port", "config", "connections", "seconds", "label"},
                        "policy_bench", o))
    return 64;
  if (b::option_or(o, "port", "").empty()) {
    std::fprintf(stderr,
                 "usage: policy_bench --port P [--config FILE] [--connections 8] "
                 "[--seconds 3] [--label gate]\n");
    return 64;
  }
  const int port = std::stoi(o["port"]);
  const int connections = std::stoi(b::option_or(o, "connections", "8"));
  const double seconds = std::stod(b::option_or(o, "seconds", "3"));
  const std::string label = b::option_or(o, "label", "gate");
  try {
    std::vector<std::string> addresses;
    if (auto cfg_path = b::option_or(o, "config", ""); !cfg_path.empty()) {
      auto cfg = bouncegate::load_config(cfg_path);
      bouncegate::SuppressionStore store(cfg->redis, cfg->suppression);
      addresses = b::seeded_addresses(store, 1000, 100);
    } else {
      for (int i = 0; i < 1000; ++i)
        addresses.push_back("user" + std::to_string(i) + "@bench.example");
    }
    std::vector<std::vector<double>> samples(static_cast<size_t>(connections));
    std::atomic<size_t> refused{0};
    const auto stop = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    const auto started = std::chrono::steady_clock::now();
    b::run_threads(connections, "policy_bench", [&](int t) {
      int fd = connect_to(port);
      std::string buf;
      auto& lat = samples[static_cast<size_t>(t)];
      for (size_t i = 0; std::chrono::steady_clock::now() < stop; ++i) {
        const auto& a =
            addresses[(static_cast<size_t>(t) * 7919u + i * 104729u) % addresses.size()];
        std::string req =
            "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
            "client_address=127.0.0.1\nclient_name=localhost\nhelo_name=bench\n"
            "queue_id=BENCH" +
            std::to_string(t) + "\nsender=app@example.com\nrecipient=" + a + "\n\n";
        auto t0 = std::chrono::steady_clock::now();
        std::string answer = ask(fd, req, buf);
        lat.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
        if (answer.rfind("action=DUNNO", 0) != 0) ++refused;
      }
      close(fd);
    });
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    b::Latencies l = b::summarize(samples);
    std::printf("%s %zu decisions in %.2fs = %.0f/s p50 %.1f us p99 %.1f us refused %zu\n",
                label.c_str(), l.count, elapsed, static_cast<double>(l.count) / elapsed, l.p50_us,
                l.p99_us, refused.load());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "policy_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
