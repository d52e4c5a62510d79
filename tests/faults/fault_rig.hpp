// The rig the fault tests break: a private Postfix in front of bouncegate-milter and
// bouncegate-relay, a scripted upstream (STARTTLS + AUTH) that can be swapped for a faulty one
// on the same port, and a persistent Redis; plus counting of what arrived and what is queued.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/postfix.hpp"
#include "tests/support/scripted_upstream.hpp"
#include "tests/support/test_ca.hpp"

namespace bouncegate::test {

struct RigOptions {
  bool milter = true;
  std::string on_store_error = "tempfail";
  bool relay = true;  // false: Postfix delivers straight to the upstream (plain SMTP)
  std::vector<std::string> main_cf_extra;
  std::vector<std::string> master_cf_extra;  // "@CONFIG@" stands for the rig's config path
};

// What the upstream does when (re)started.
enum class UpstreamMode {
  good,        // STARTTLS with the trusted test CA, AUTH, captures every message
  greets_421,  // "421 4.3.2 Service not available" on connect
  wrong_ca,    // a certificate the relay does not trust: the TLS handshake fails
  silent,      // the port listens but never accepts: no greeting ever comes
};

// What a client saw for one submission.
struct Submission {
  bool accepted = false;  // "250 ... queued as"
  std::string reply;      // the refusing reply line ("451 4.3.0 ..."), empty when accepted
  std::string transcript;
  double seconds = 0;
};

class FaultRig {
 public:
  explicit FaultRig(RigOptions options = {});
  ~FaultRig();

  void start_upstream(UpstreamMode mode);
  void stop_upstream();
  void start_relay();
  void start_milter();

  // swaks through Postfix: one message with a unique Subject.
  Submission submit(const std::string& to, const std::string& subject,
                    const std::string& from = "app@example.com") const;
  // Copies of the message with this Subject that reached the upstream (all its incarnations).
  int delivered(const std::string& subject) const;
  // Messages in Postfix's queue (`mailq` of this instance).
  int queued() const;
  // postqueue -f, then waits for an empty queue.
  bool flush_and_wait_empty(int timeout_ms) const;
  // `bouncegate show --json ADDR` output (empty when not in the store).
  std::string show(const std::string& address) const;
  std::string logs() const;  // relay, milter and Postfix logs for failure messages

  RigOptions options;
  RedisServer redis;  // append-only with fsync always: a SIGKILL loses nothing written
  TempDir dir;
  TestCa ca, other_ca;
  std::string config, journal;
  int upstream_port = free_port(), relay_port = free_port(), milter_port = free_port();
  std::unique_ptr<ScriptedUpstream> upstream;
  std::unique_ptr<DaemonProcess> relay, milter;
  std::unique_ptr<PrivatePostfix> postfix;

 private:
  std::vector<std::string> capture_dirs_;
  int silent_fd_ = -1;
};

// Seconds since `t0`.
double seconds_since(std::chrono::steady_clock::time_point t0);

}  // namespace bouncegate::test
