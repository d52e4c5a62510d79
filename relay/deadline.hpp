// Deadlines for socket operations (Boost 1.74 has no cancel_after): a timer that closes the
// socket when an operation outlives it. The handler holds only a weak reference.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "core/config.hpp"

namespace bouncegate {

// `Io` has `timer`, `timed_out` and `close_socket()`.
template <class Io>
void arm_deadline(const std::shared_ptr<Io>& io, Millis timeout) {
  io->timed_out = false;
  io->timer.expires_after(timeout);
  io->timer.async_wait([w = std::weak_ptr<Io>(io)](boost::system::error_code ec) {
    auto p = w.lock();
    // A timer that fired just before being re-armed must not close the next operation.
    if (ec || !p || p->timer.expiry() > std::chrono::steady_clock::now()) return;
    p->timed_out = true;
    p->close_socket();
  });
}

template <class Io>
void disarm_deadline(const std::shared_ptr<Io>& io) {
  io->timer.cancel();
}

}  // namespace bouncegate
