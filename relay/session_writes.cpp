// A relay session's writes through the outcome writer, and the wait for them (see the header).
#include "relay/session_writes.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/lease_text.hpp"
#include "core/log.hpp"

namespace bouncegate {

void log_written_outcome(const std::string& log_id, const std::string& rcpt,
                         const std::string& line, const RecordResult& entry,
                         const std::string& error) {
  if (!error.empty())
    log_event(LogLevel::error, log_id, "outcome not recorded", {{"to", rcpt}, {"error", error}});
  std::string l = line;
  if (entry && entry->ttl_ms >= 0) l += ", lease=" + lease_text(entry->ttl_ms);
  if (entry.journaled) l += ", journaled=yes";
  log_event(LogLevel::info, log_id, l);
}

SessionWrites::SessionWrites(std::shared_ptr<OutcomeWriter> writer, asio::any_io_executor io)
    : writer_(std::move(writer)), io_(std::move(io)) {}

void SessionWrites::Pending::one_done(bool gating_record) {
  --n;
  if (gating_record) --gating;
  if (!on_idle || (gating_only ? gating : n) > 0) return;
  auto f = std::move(on_idle);
  on_idle = nullptr;
  f();
}

template <class F>
auto SessionWrites::tracked(F f, bool gating_record) {
  // The callback runs on the writer thread, maybe after the session is gone: it holds only
  // copies and the shared count, which it updates on the io thread.
  return [f = std::move(f), p = pending_, io = io_, gating_record](auto&&... a) {
    // Counted as done even when logging throws: the session must not wait for ever.
    struct Done {
      std::shared_ptr<Pending> p;
      asio::any_io_executor io;
      bool gating;
      ~Done() {
        asio::post(io, [p = p, g = gating] { p->one_done(g); });
      }
    } done{p, io, gating_record};
    f(a...);
  };
}

bool SessionWrites::record(const OutcomeRecord& rec, bool changes_gate, Millis share_pause,
                           const std::string& log_id, const std::string& line) {
  if (!writer_) return false;
  ++pending_->n;
  if (changes_gate) ++pending_->gating;
  auto done = tracked(
      [log_id, rcpt = rec.address, line](const RecordResult& entry, const std::string& error) {
        log_written_outcome(log_id, rcpt, line, entry, error);
      },
      changes_gate);
  // A delivery nobody waits for may linger in the writer's batch; a record that may change a
  // gate answer goes at once (this session's next RCPT waits for it).
  if (writer_->record(rec, share_pause, done, changes_gate)) return true;
  --pending_->n;
  if (changes_gate) --pending_->gating;
  return false;
}

bool SessionWrites::remember(MessageNote note, const std::string& log_id) {
  if (!writer_) return false;
  ++pending_->n;
  auto done = tracked(
      [log_id](const std::string& error) {
        if (!error.empty())
          log_event(LogLevel::warning, log_id, "message id not stored", {{"error", error}});
      },
      false);
  if (writer_->remember(std::move(note), done)) return true;
  --pending_->n;
  return false;
}

asio::awaitable<void> SessionWrites::written() {
  co_await wait(false);
}

asio::awaitable<void> SessionWrites::gate_inputs_written() {
  co_await wait(true);
}

asio::awaitable<void> SessionWrites::wait(bool gating_only) {
  if ((gating_only ? pending_->gating : pending_->n) == 0) co_return;
  pending_->gating_only = gating_only;
  // Captures by reference only: g++ 12 destroys a temporary with captured copies passed in a
  // co_await expression twice (as in RelayRuntime::offload).
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [&](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        pending_->on_idle = [h, io = io_] { asio::post(io, std::move(*h)); };
      },
      asio::use_awaitable);
}

}  // namespace bouncegate
