// relay/deadline.hpp: arming and disarming only move the deadline; the one timer still closes
// the socket of an operation that outlives it, and leaves nothing pending once stopped.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>

#include "relay/deadline.hpp"

namespace bouncegate {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

struct FakeIo : DeadlineState {
  explicit FakeIo(boost::asio::io_context& io) : DeadlineState(io.get_executor()) {}
  int closed = 0;
  Clock::time_point closed_at{};
  void close_socket() {
    ++closed;
    closed_at = Clock::now();
  }
};

// Runs `io` for `ms` (or until it runs out of work).
void run_for(boost::asio::io_context& io, int ms) {
  io.restart();
  io.run_for(milliseconds(ms));
}

TEST(LazyDeadline, AnOperationThatOutlivesItIsClosed) {
  boost::asio::io_context io;
  auto d = std::make_shared<FakeIo>(io);
  const auto start = Clock::now();
  arm_deadline(d, Millis(40));
  run_for(io, 300);
  EXPECT_EQ(d->closed, 1);
  EXPECT_TRUE(d->timed_out);
  EXPECT_GE(d->closed_at - start, milliseconds(40));
}

TEST(LazyDeadline, DisarmedInTimeNothingIsClosed) {
  boost::asio::io_context io;
  auto d = std::make_shared<FakeIo>(io);
  arm_deadline(d, Millis(40));
  disarm_deadline(d);
  run_for(io, 150);
  EXPECT_EQ(d->closed, 0);
  EXPECT_FALSE(d->timed_out);
}

// Many short operations, each armed and disarmed: the deadline that counts is the last one's.
TEST(LazyDeadline, RearmedOperationsCountFromTheirOwnStart) {
  boost::asio::io_context io;
  auto d = std::make_shared<FakeIo>(io);
  boost::asio::steady_timer step(io);
  int steps = 0;
  Clock::time_point last_arm{};
  std::function<void()> next = [&] {
    if (steps > 0) disarm_deadline(d);
    if (++steps > 10) return;  // the 10th operation stays armed: it must time out
    last_arm = Clock::now();
    arm_deadline(d, Millis(60));
    if (steps == 10) return;
    step.expires_after(milliseconds(15));
    step.async_wait([&](boost::system::error_code) { next(); });
  };
  next();
  run_for(io, 500);
  EXPECT_EQ(steps, 10);
  ASSERT_EQ(d->closed, 1);
  EXPECT_GE(d->closed_at - last_arm, milliseconds(60));
}

// A shorter deadline after a longer one is not left to the longer wait.
TEST(LazyDeadline, AShorterDeadlineIsNotLate) {
  boost::asio::io_context io;
  auto d = std::make_shared<FakeIo>(io);
  const auto start = Clock::now();
  arm_deadline(d, Millis(5000));
  disarm_deadline(d);
  arm_deadline(d, Millis(40));
  run_for(io, 400);
  ASSERT_EQ(d->closed, 1);
  EXPECT_LT(d->closed_at - start, milliseconds(400));
}

// Set aside (an idle pooled connection): nothing keeps the io_context running.
TEST(LazyDeadline, StoppedLeavesNoWorkPending) {
  boost::asio::io_context io;
  auto d = std::make_shared<FakeIo>(io);
  arm_deadline(d, Millis(10000));
  disarm_deadline(d);
  stop_deadline(d);
  const auto start = Clock::now();
  io.run();  // returns at once: the wait was cancelled
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  EXPECT_EQ(d->closed, 0);
  // And it can be armed again.
  arm_deadline(d, Millis(30));
  run_for(io, 300);
  EXPECT_EQ(d->closed, 1);
}

// The owner gone, the pending wait does nothing (it holds a weak reference only).
TEST(LazyDeadline, AGoneOwnerIsNotTouched) {
  boost::asio::io_context io;
  auto d = std::make_shared<FakeIo>(io);
  arm_deadline(d, Millis(20));
  std::weak_ptr<FakeIo> w = d;
  d.reset();
  run_for(io, 100);
  EXPECT_TRUE(w.expired());
}

}  // namespace
}  // namespace bouncegate
