// Deadlines for socket operations (Boost 1.74 has no cancel_after): a timer that closes the
// socket when an operation outlives it. The handler holds only a weak reference.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "core/config.hpp"

namespace bouncegate {

// The deadline state an `Io` (socket owner) carries; it adds `close_socket()`, the deadline's
// action. Arming and disarming only move `due`: the timer is not cancelled and restarted for
// every read and write (one message body is dozens of them), it runs once per timeout period
// and, when it fires, looks whether the deadline it stands for has passed.
struct DeadlineState {
  explicit DeadlineState(const boost::asio::any_io_executor& ex) : timer(ex) {}
  boost::asio::steady_timer timer;
  std::chrono::steady_clock::time_point due = std::chrono::steady_clock::time_point::max();
  bool waiting = false;  // a wait on `timer` is pending
  bool timed_out = false;
};

template <class Io>
void start_deadline_wait(const std::shared_ptr<Io>& io) {
  io->waiting = true;
  io->timer.expires_at(io->due);
  io->timer.async_wait([w = std::weak_ptr<Io>(io)](boost::system::error_code ec) {
    auto p = w.lock();
    // Cancelled: replaced by a wait for an earlier deadline, or stopped (stop_deadline).
    if (ec || !p) return;
    p->waiting = false;
    const auto now = std::chrono::steady_clock::now();
    if (p->due == std::chrono::steady_clock::time_point::max()) return;  // disarmed
    if (p->due > now) {  // armed again since: wait for what is left
      start_deadline_wait(p);
      return;
    }
    p->timed_out = true;
    p->close_socket();
  });
}

template <class Io>
void arm_deadline(const std::shared_ptr<Io>& io, Millis timeout) {
  io->timed_out = false;
  io->due = std::chrono::steady_clock::now() + timeout;
  // A pending wait that ends no later than the new deadline looks again when it fires.
  if (io->waiting && io->timer.expiry() <= io->due) return;
  start_deadline_wait(io);  // none pending, or it ends too late: restarted (cancels the old)
}

template <class Io>
void disarm_deadline(const std::shared_ptr<Io>& io) {
  io->due = std::chrono::steady_clock::time_point::max();
}

// Ends the pending wait itself: a connection put aside (the upstream pool) must not keep the
// io_context running until its last deadline would have passed.
template <class Io>
void stop_deadline(const std::shared_ptr<Io>& io) {
  io->due = std::chrono::steady_clock::time_point::max();
  io->waiting = false;
  io->timer.cancel();
}

}  // namespace bouncegate
