// A private Postfix instance for end-to-end tests: its own config, queue and data directories
// under a TempDir, loopback listeners only, started with `postfix -c DIR start` and always
// stopped (and its processes killed) on destruction.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/support/harness.hpp"

namespace bouncegate::test {

struct PostfixOptions {
  int smtpd_port = 0;                      // 0: a free loopback port
  std::string relayhost;                   // e.g. "[127.0.0.1]:2525"; empty: none
  std::vector<std::string> smtpd_milters;  // e.g. "inet:127.0.0.1:8891"
  std::vector<std::string> non_smtpd_milters;
  std::string milter_default_action = "tempfail";
  std::vector<std::string> main_cf_extra;    // "name = value" lines, appended (later wins)
  std::vector<std::string> master_cf_extra;  // master.cf service lines, appended
  std::string syslog_name;                   // empty: a unique "postfix-bgtest-<pid>-<n>"
};

class PrivatePostfix {
 public:
  explicit PrivatePostfix(PostfixOptions options = {});
  ~PrivatePostfix();
  PrivatePostfix(const PrivatePostfix&) = delete;
  PrivatePostfix& operator=(const PrivatePostfix&) = delete;

  // Writes the configuration and starts the master; throws with the maillog on failure.
  void start();
  // `postfix stop`, then SIGKILL to whatever of the instance is left.
  void stop();
  bool running() const;

  int smtpd_port() const { return port_; }
  const std::string& config_directory() const { return config_dir_; }
  const std::string& queue_directory() const { return queue_dir_; }
  const std::string& syslog_name() const { return options_.syslog_name; }
  // True once no message is left in incoming, active, deferred, maildrop or hold.
  bool wait_queue_empty(int timeout_ms) const;
  // The instance's log (maillog_file).
  std::string maillog() const;
  // True once `needle` appears in the maillog.
  bool wait_maillog(const std::string& needle, int timeout_ms) const;
  // Runs a Postfix command against this instance, e.g. {"postconf", "-n"} gets "-c DIR".
  RunResult command(std::vector<std::string> argv) const;

 private:
  void write_config();
  pid_t master_pid() const;

  PostfixOptions options_;
  TempDir dir_;
  std::string config_dir_, queue_dir_, data_dir_, maillog_;
  int port_ = 0;
  bool started_ = false;
};

}  // namespace bouncegate::test
