// Load driver for bouncegate-milter: speaks the milter protocol itself (no MTA), sends
// MAIL/RCPT over several connections and measures RCPT decisions per second and p50/p99
// latency, for a gating milter and a `milter.gate: false` baseline in one run.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "core/config.hpp"
#include "core/store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kProtocolVersion = 6;
constexpr uint32_t kAllActions = 0x1ff;
constexpr uint32_t kAllSteps = 0x1fffff;
constexpr uint32_t kNoConnect = 0x1, kNoHelo = 0x2;

// One milter connection, MTA side: frames are a 4-byte length, a command byte and data.
class MilterClient {
 public:
  explicit MilterClient(const std::string& spec) {
    // inet:PORT@HOST
    auto colon = spec.find(':'), at = spec.find('@');
    if (spec.rfind("inet:", 0) != 0 || at == std::string::npos)
      throw std::runtime_error("socket must be inet:PORT@HOST: " + spec);
    std::string port = spec.substr(colon + 1, at - colon - 1), host = spec.substr(at + 1);
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0)
      throw std::runtime_error("cannot resolve " + spec);
    fd_ = socket(res->ai_family, SOCK_STREAM, 0);
    int rc = connect(fd_, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0) throw std::runtime_error("cannot connect to " + spec);
    // Frames are small and written back to back (macro, then command): no Nagle delay.
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string neg(12, '\0');
    put32(neg, 0, kProtocolVersion);
    put32(neg, 4, kAllActions);
    put32(neg, 8, kAllSteps);
    send('O', neg);
    auto [cmd, data] = read();
    if (cmd != 'O' || data.size() < 12) throw std::runtime_error("negotiation failed");
    steps_ = get32(data, 8);
  }
  ~MilterClient() {
    if (fd_ >= 0) {
      send('Q', "");
      close(fd_);
    }
  }
  MilterClient(const MilterClient&) = delete;
  MilterClient& operator=(const MilterClient&) = delete;

  void start_connection() {
    if (!(steps_ & kNoConnect)) expect_reply('C', std::string("localhost\0U", 11));
    if (!(steps_ & kNoHelo)) expect_reply('H', std::string("bench\0", 6));
  }
  char mail(const std::string& from, const std::string& qid) {
    send('D', std::string("Mi\0", 3) + qid + std::string(1, '\0'));
    return expect_reply('M', "<" + from + ">" + std::string(1, '\0'));
  }
  char rcpt(const std::string& to) {
    return expect_reply('R', "<" + to + ">" + std::string(1, '\0'));
  }
  void abort() { send('A', ""); }

 private:
  static void put32(std::string& s, size_t at, uint32_t v) {
    uint32_t n = htonl(v);
    memcpy(s.data() + at, &n, 4);
  }
  static uint32_t get32(const std::string& s, size_t at) {
    uint32_t n;
    memcpy(&n, s.data() + at, 4);
    return ntohl(n);
  }
  void write_all(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::write(fd_, s.data() + off, s.size() - off);
      if (n <= 0) throw std::runtime_error("write failed");
      off += static_cast<size_t>(n);
    }
  }
  void read_all(char* p, size_t len) {
    size_t off = 0;
    while (off < len) {
      ssize_t n = ::read(fd_, p + off, len - off);
      if (n <= 0) throw std::runtime_error("connection closed by the milter");
      off += static_cast<size_t>(n);
    }
  }
  void send(char cmd, const std::string& data) {
    std::string f(4, '\0');
    put32(f, 0, static_cast<uint32_t>(data.size() + 1));
    f += cmd;
    f += data;
    write_all(f);
  }
  std::pair<char, std::string> read() {
    char len[4];
    read_all(len, 4);
    uint32_t n = get32(std::string(len, 4), 0);
    if (n == 0 || n > (1u << 20)) throw std::runtime_error("bad frame length");
    std::string body(n, '\0');
    read_all(body.data(), n);
    return {body[0], body.substr(1)};
  }
  char expect_reply(char cmd, const std::string& data) {
    send(cmd, data);
    auto [r, rest] = read();
    return r;
  }
  int fd_ = -1;
  uint32_t steps_ = 0;
};

struct Result {
  size_t decisions = 0;
  size_t refused = 0;
  double seconds = 0;
  double p50_us = 0, p99_us = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(decisions) / seconds : 0; }
};

Result drive(const std::string& socket, int connections, double seconds, int rcpts_per_msg,
             const std::vector<std::string>& addresses) {
  std::vector<std::vector<double>> lat(static_cast<size_t>(connections));
  std::atomic<size_t> refused{0};
  auto start = Clock::now();
  auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  bouncegate::bench::run_threads(connections, "milter_bench: " + socket, [&](int t) {
    MilterClient c(socket);
    c.start_connection();
    std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1);
    std::uniform_int_distribution<size_t> pick(0, addresses.size() - 1);
    auto& mine = lat[static_cast<size_t>(t)];
    for (int msg = 0; Clock::now() < deadline; ++msg) {
      c.mail("bench@example.com", "B" + std::to_string(t) + "X" + std::to_string(msg));
      for (int r = 0; r < rcpts_per_msg; ++r) {
        auto t0 = Clock::now();
        char reply = c.rcpt(addresses[pick(rng)]);
        mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (reply != 'c') ++refused;
      }
      c.abort();
    }
  });
  Result r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  auto l = bouncegate::bench::summarize(lat);
  r.decisions = l.count;
  r.refused = refused;
  r.p50_us = l.p50_us;
  r.p99_us = l.p99_us;
  return r;
}

void print(const char* name, const Result& r) {
  std::printf("%-9s %8zu decisions in %.2fs = %9.0f/s  p50 %7.1f us  p99 %7.1f us  refused %zu\n",
              name, r.decisions, r.seconds, r.rate(), r.p50_us, r.p99_us, r.refused);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> o;
  if (!bouncegate::bench::parse_options(
          argc, argv,
          {"gate", "baseline", "config", "connections", "rcpts", "seconds", "suppressed"},
          "milter_bench", o))
    return 64;
  std::string gate_socket = bouncegate::bench::option_or(o, "gate", ""),
              baseline_socket = bouncegate::bench::option_or(o, "baseline", ""),
              config = bouncegate::bench::option_or(o, "config", "");
  int connections = std::stoi(bouncegate::bench::option_or(o, "connections", "4")),
      rcpts = std::stoi(bouncegate::bench::option_or(o, "rcpts", "10")), pool = 1000,
      suppressed = std::stoi(bouncegate::bench::option_or(o, "suppressed", "100"));
  double seconds = std::stod(bouncegate::bench::option_or(o, "seconds", "3"));
  if (gate_socket.empty() || baseline_socket.empty() || config.empty()) {
    std::cerr << "usage: milter_bench --gate inet:PORT@HOST --baseline inet:PORT@HOST "
                 "--config FILE [--seconds 3] [--connections 4] [--rcpts 10] [--suppressed 100]\n";
    return 64;
  }
  try {
    // Seed the store the gating milter uses: `suppressed` of the `pool` addresses bounced hard.
    auto cfg = bouncegate::load_config(config);
    bouncegate::SuppressionStore store(cfg->redis, cfg->suppression);
    auto addresses = bouncegate::bench::seeded_addresses(store, pool, suppressed);
    std::printf(
        "milter_bench: %d connections, %d RCPT per message, %.1fs per run, %d of %d "
        "addresses suppressed\n",
        connections, rcpts, seconds, suppressed, pool);
    Result base = drive(baseline_socket, connections, seconds, rcpts, addresses);
    Result gate = drive(gate_socket, connections, seconds, rcpts, addresses);
    print("baseline", base);
    print("gate", gate);
    std::printf("ratio gate/baseline: throughput %.2f  p50 %.2fx  p99 %.2fx\n",
                base.rate() > 0 ? gate.rate() / base.rate() : 0,
                base.p50_us > 0 ? gate.p50_us / base.p50_us : 0,
                base.p99_us > 0 ? gate.p99_us / base.p99_us : 0);
    if (gate.refused == 0) {
      std::cerr << "milter_bench: the gate refused nothing; is it asking the seeded store?\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "milter_bench: " << e.what() << "\n";
    return 1;
  }
}
