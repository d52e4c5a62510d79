// Accept failure policy (see accept_backoff.hpp).
#include "core/accept_backoff.hpp"

#include <cerrno>

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

}  // namespace bouncegate
