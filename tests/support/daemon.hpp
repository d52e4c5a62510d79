// A daemon under test as a child process: stderr captured to a file, SIGTERM then SIGKILL on
// destruction so nothing outlives the test.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace bouncegate::test {

class DaemonProcess {
 public:
  // Starts argv (argv[0] absolute or in PATH); stdout and stderr go to `log_file`.
  DaemonProcess(const std::vector<std::string>& argv, const std::string& log_file);
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Sends `sig` and waits up to timeout_ms; SIGKILL after that. Returns the exit status
  // (128+signal when killed by one).
  int stop(int sig, int timeout_ms = 5000);
  // True while running; reaps the child when it has exited.
  bool running();
  std::string log() const;
  // Polls the log until `needle` appears (true) or timeout_ms pass (false).
  bool wait_for_log(const std::string& needle, int timeout_ms = 5000) const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_file_;
};

}  // namespace bouncegate::test
