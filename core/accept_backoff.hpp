// What an acceptor does after accept() fails: how long to wait before the next try and when
// to log. With the descriptor limit reached (EMFILE/ENFILE) an immediate retry fails again at
// once: a spinning core and a flood of log lines. The decision is pure (failed/succeeded);
// failure/success add the log line and metric, and the accept loops (relay, web) wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace bouncegate {

class AcceptBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  struct Step {
    std::chrono::milliseconds wait{0};  // before the next accept
    bool log = false;                   // log this failure (first of a burst, then each minute)
    uint64_t failures = 0;              // failures in this burst so far
  };

  // errno-style value of the failure (EMFILE, ECONNABORTED, ...).
  Step failed(int error, Clock::time_point now);
  // After a successful accept: the burst that just ended (0 if none), for one recovery line.
  uint64_t succeeded();
  // The daemons' form: failed() plus the log line and the `metric` counter it calls for, and
  // succeeded() plus the recovery line. The caller only waits step.wait.
  Step failure(int error, const std::string& what, const std::string& metric);
  void success();

  static constexpr std::chrono::milliseconds kFirstWait{10}, kMaxWait{1000};
  static constexpr std::chrono::seconds kLogEvery{60};

 private:
  uint64_t failures_ = 0;
  std::chrono::milliseconds wait_{0};
  Clock::time_point last_log_{};
};

// True for failures that mean "out of descriptors or memory": retrying at once cannot help.
bool accept_error_is_exhaustion(int error);

}  // namespace bouncegate
