// What one relay session hands to the outcome writer (core/outcome_writer.hpp), and the wait
// at its end: a session closes its client connection only once its records are written.
#pragma once

// clang-format off
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format on

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/outcome_writer.hpp"

namespace bouncegate {

namespace asio = boost::asio;

// The log line of one outcome, finished once it is written: the lease, or that it was
// journaled, or that it was lost.
void log_written_outcome(const std::string& log_id, const std::string& rcpt,
                         const std::string& line, const RecordResult& entry,
                         const std::string& error);

class SessionWrites {
 public:
  // `writer` may be null (every write is then the caller's own).
  SessionWrites(std::shared_ptr<OutcomeWriter> writer, asio::any_io_executor io);
  // Queued with the writer (true), or false when its queue is full: the caller writes it.
  // `changes_gate`: recording it may change what the gate answers (core/record_effect.hpp).
  bool record(const OutcomeRecord& rec, bool changes_gate, Millis share_pause,
              const std::string& log_id, const std::string& line);
  bool remember(MessageNote note, const std::string& log_id);
  // Completes once every write this session queued is in Redis or the journal.
  asio::awaitable<void> written();
  // Completes once every record queued that may change a gate answer is written: what the
  // session waits for before it gates its next recipient (a delivery record is not waited for).
  asio::awaitable<void> gate_inputs_written();

 private:
  // Touched on the io thread only: the writer's callbacks post their count back to it.
  struct Pending {
    int n = 0;
    int gating = 0;            // of them, records that may change a gate answer
    bool gating_only = false;  // the waiter waits for `gating` to reach 0, not `n`
    std::function<void()> on_idle;
    void one_done(bool gating_record);
  };
  template <class F>
  auto tracked(F f, bool gating_record);
  asio::awaitable<void> wait(bool gating_only);

  std::shared_ptr<OutcomeWriter> writer_;
  asio::any_io_executor io_;
  std::shared_ptr<Pending> pending_ = std::make_shared<Pending>();
};

}  // namespace bouncegate
