// OutcomeWriter: takes the relay's outcome records and Message-IDs off the reply path. One
// thread sends everything queued in one pipelined round trip (SuppressionStore::write_batch).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/store_records.hpp"

namespace bouncegate {

class SuppressionStore;

class OutcomeWriter {
 public:
  // Called on the writer thread once the record is in Redis or the journal (`error` empty),
  // or lost (`error` says why: Redis unreachable and no journal).
  using RecordDone = std::function<void(const RecordResult&, const std::string& error)>;
  using NoteDone = std::function<void(const std::string& error)>;

  // `capacity`: queued jobs at most; past it, record() and remember() refuse. `linger`: how
  // long a job that nobody waits for may sit so that one round trip takes several messages'
  // (one wake-up of this thread and one trip per batch instead of per message); 0: none.
  OutcomeWriter(std::shared_ptr<SuppressionStore> store, size_t capacity,
                Millis linger = Millis(0));
  // Writes everything still queued (to Redis or the journal), then stops.
  ~OutcomeWriter();
  OutcomeWriter(const OutcomeWriter&) = delete;
  OutcomeWriter& operator=(const OutcomeWriter&) = delete;

  // Queues one record (and a throttle pause to share, 0 for none). False when the queue is
  // full: the caller writes it itself (record_or_journal), so nothing waits unbounded.
  // `urgent`: someone waits for it (a record that may change a gate answer, a pause for the
  // fleet): it goes at once, with whatever is queued, never after the linger.
  bool record(OutcomeRecord rec, Millis share_pause, RecordDone done, bool urgent = true);
  bool remember(MessageNote note, NoteDone done);
  // Blocks until everything queued before the call has been written (at once, no linger).
  void flush();
  // Round trips made so far (each sends every job queued when it started).
  size_t round_trips() const;

 private:
  struct Job {
    std::optional<OutcomeRecord> record;
    Millis pause{0};
    RecordDone record_done;
    std::optional<MessageNote> note;
    NoteDone note_done;
  };
  bool push(Job job, bool urgent);
  void run();
  // Under mu_: the queue must go now.
  bool due() const;

  std::shared_ptr<SuppressionStore> store_;
  const size_t capacity_;
  const Millis linger_;
  mutable std::mutex mu_;
  std::condition_variable wake_, idle_;
  std::deque<Job> queue_;
  bool busy_ = false, stopping_ = false;
  bool urgent_ = false;    // an urgent job (or flush()) is queued
  bool sleeping_ = false;  // the thread waits for a first job: only then does a push wake it
  size_t round_trips_ = 0;
  std::thread thread_;
};

}  // namespace bouncegate
