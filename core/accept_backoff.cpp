// Accept failure policy (see accept_backoff.hpp).
#include "core/accept_backoff.hpp"

#include <cerrno>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace bouncegate {

bool accept_error_is_exhaustion(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

AcceptBackoff::Step AcceptBackoff::failed(int error, Clock::time_point now) {
  Step s;
  s.failures = ++failures_;
  if (accept_error_is_exhaustion(error)) {
    // Exponential, bounded: a freed descriptor is picked up within a second at the latest.
    wait_ = wait_.count() == 0 ? kFirstWait : std::min(wait_ * 2, kMaxWait);
    s.wait = wait_;
  }
  if (failures_ == 1 || now - last_log_ >= kLogEvery) {
    s.log = true;
    last_log_ = now;
  }
  return s;
}

uint64_t AcceptBackoff::succeeded() {
  uint64_t burst = failures_;
  failures_ = 0;
  wait_ = std::chrono::milliseconds(0);
  return burst;
}

AcceptBackoff::Step AcceptBackoff::failure(int error, const std::string& what,
                                           const std::string& metric) {
  Step s = failed(error, Clock::now());
  Metrics::instance().inc(metric);
  if (s.log)
    log_event(LogLevel::warning, "", "accept failed",
              {{"error", what},
               {"failures", std::to_string(s.failures)},
               {"retry_in", std::to_string(s.wait.count()) + "ms"}});
  return s;
}

void AcceptBackoff::success() {
  if (uint64_t burst = succeeded(); burst > 0)
    log_event(LogLevel::notice, "", "accepting again", {{"failures", std::to_string(burst)}});
}

}  // namespace bouncegate
