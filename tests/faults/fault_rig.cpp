// The fault-test rig: configuration, daemons on fixed ports (so they can be restarted or
// swapped under Postfix), swaks submissions and delivery/queue counting.
#include "tests/faults/fault_rig.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "tests/support/loopback.hpp"

namespace bouncegate::test {
namespace fs = std::filesystem;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

namespace {

const char* kUpstreamSecret = "fault-upstream-secret";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

FaultRig::FaultRig(RigOptions o)
    : options(std::move(o)),
      redis(std::vector<std::string>{"--appendonly", "yes", "--appendfsync", "always"}),
      ca(make_test_ca(dir.path(), "trusted")),
      other_ca(make_test_ca(dir.path(), "untrusted")) {
  // Postfix's pipe transport runs `bouncegate ingest` as nobody: it must read the config.
  chmod(dir.path().c_str(), 0755);
  journal = dir.path() + "/journal/outcomes";
  std::string pw = dir.file("smtp-password", std::string(kUpstreamSecret) + "\n");
  std::string p = std::to_string(redis.port());
  config = dir.file(
      "bouncegate.yaml",
      "redis: {address: 127.0.0.1:" + p +
          ", timeout: 300ms, connect_timeout: 300ms, reconnect_backoff: 100ms}\n"
          "suppression:\n  lease_ladder: [24h, 48h, 96h, 7d, 14d]\n  journal_path: " +
          journal + "\nmilter: {socket: 'inet:" + std::to_string(milter_port) +
          "@127.0.0.1', on_store_error: " + options.on_store_error +
          "}\n"
          "relay:\n  listen: ['127.0.0.1:" +
          std::to_string(relay_port) +
          "']\n  gate: false\n"     // the milter gates; the relay's gate would only repeat it
          "  throttle_pause: 2s\n"  // a 421 greeting counts as throttling; keep the pause short
          "  upstream:\n    host: localhost\n    port: " +
          std::to_string(upstream_port) + "\n    ca_file: " + ca.ca_cert +
          "\n    username: app.tenant.test\n    password_file: " + pw +
          "\n    connect_timeout: 2s\n    command_timeout: 2s\n    data_timeout: 3s\n");

  start_upstream(UpstreamMode::good);
  if (options.relay) start_relay();
  if (options.milter) start_milter();

  PostfixOptions po;
  po.relayhost = "[127.0.0.1]:" + std::to_string(options.relay ? relay_port : upstream_port);
  if (options.milter) po.smtpd_milters = {"inet:127.0.0.1:" + std::to_string(milter_port)};
  po.main_cf_extra = {"smtp_send_xforward_command = yes"};
  po.main_cf_extra.insert(po.main_cf_extra.end(), options.main_cf_extra.begin(),
                          options.main_cf_extra.end());
  for (std::string line : options.master_cf_extra) {
    for (size_t at; (at = line.find("@CONFIG@")) != std::string::npos;) line.replace(at, 8, config);
    po.master_cf_extra.push_back(line);
  }
  postfix = std::make_unique<PrivatePostfix>(po);
  postfix->start();
}

FaultRig::~FaultRig() {
  postfix.reset();  // before the daemons it talks to
  relay.reset();
  milter.reset();
  stop_upstream();
}

void FaultRig::stop_upstream() {
  upstream.reset();
  if (silent_fd_ >= 0) close(silent_fd_);
  silent_fd_ = -1;
}

void FaultRig::start_upstream(UpstreamMode mode) {
  stop_upstream();
  if (mode == UpstreamMode::silent) {
    // Listening with a backlog but never accepting: connects succeed, nothing is said.
    silent_fd_ = listen_loopback(upstream_port, 64);
    return;
  }
  UpstreamScript s;
  if (options.relay) {
    const TestCa& c = mode == UpstreamMode::wrong_ca ? other_ca : ca;
    s.tls_cert = c.server_cert;
    s.tls_key = c.server_key;
    s.password = kUpstreamSecret;
  }
  if (mode == UpstreamMode::greets_421) s.greeting = "421 4.3.2 Service not available";
  s.capture_dir = dir.path() + "/capture-" + std::to_string(capture_dirs_.size());
  fs::create_directories(s.capture_dir);
  capture_dirs_.push_back(s.capture_dir);
  upstream = std::make_unique<ScriptedUpstream>(s, upstream_port);
}

void FaultRig::start_relay() {
  relay = std::make_unique<DaemonProcess>(
      std::vector<std::string>{bin("bouncegate-relay"), "--config", config},
      dir.path() + "/relay.log");
  if (!wait_for_port(relay_port, 10000))
    throw std::runtime_error("relay did not start: " + relay->log());
}

void FaultRig::start_milter() {
  milter = std::make_unique<DaemonProcess>(
      std::vector<std::string>{bin("bouncegate-milter"), "--config", config},
      dir.path() + "/milter.log");
  if (!wait_for_port(milter_port, 10000))
    throw std::runtime_error("milter did not start: " + milter->log());
}

Submission FaultRig::submit(const std::string& to, const std::string& subject,
                            const std::string& from) const {
  auto t0 = std::chrono::steady_clock::now();
  RunResult r = run({"swaks", "--server", "127.0.0.1", "--port",
                     std::to_string(postfix->smtpd_port()), "--from", from, "--to", to, "--header",
                     "Subject: " + subject, "--body", "fault test", "--timeout", "20"});
  Submission s;
  s.seconds = seconds_since(t0);
  s.transcript = r.out + r.err;
  s.accepted = s.transcript.find("<-  250 2.0.0 Ok: queued as") != std::string::npos;
  if (!s.accepted) {
    std::smatch m;
    if (std::regex_search(s.transcript, m, std::regex("<\\*\\* ([^\\r\\n]*)"))) s.reply = m[1];
  }
  return s;
}

int FaultRig::delivered(const std::string& subject) const {
  // In the header section only: a bounce carries the original headers in its body.
  const std::string needle = "\r\nSubject: " + subject + "\r\n";
  int n = 0;
  for (const auto& d : capture_dirs_)
    for (const auto& e : fs::directory_iterator(d)) {
      std::string m = slurp(e.path());
      if (m.substr(0, m.find("\r\n\r\n") + 2).find(needle) != std::string::npos) ++n;
    }
  return n;
}

int FaultRig::queued() const {
  RunResult r = postfix->command({"postqueue", "-p"});
  std::smatch m;
  if (std::regex_search(r.out, m, std::regex("in ([0-9]+) Requests?\\."))) return std::stoi(m[1]);
  return 0;  // "Mail queue is empty"
}

bool FaultRig::flush_and_wait_empty(int timeout_ms) const {
  // Flushed again every few seconds: a flush that races a running delivery can leave that
  // message waiting for the next deferred-queue scan.
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    postfix->command({"postqueue", "-f"});
    if (postfix->wait_queue_empty(3000)) return true;
    if (seconds_since(t0) * 1000 > timeout_ms) return false;
  }
}

std::string FaultRig::show(const std::string& address) const {
  RunResult r = run({bin("bouncegate"), "--config", config, "--json", "show", address});
  return r.exit_code == 0 ? r.out : std::string();
}

std::string FaultRig::logs() const {
  std::string out;
  if (relay) out += "--- relay\n" + relay->log();
  if (milter) out += "--- milter\n" + milter->log();
  out += "--- postfix\n" + postfix->maillog();
  return out;
}

}  // namespace bouncegate::test
