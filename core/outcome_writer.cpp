// OutcomeWriter: one thread, one pipelined round trip for everything queued (see the header).
#include "core/outcome_writer.hpp"

#include <algorithm>
#include <exception>

#include "core/metrics.hpp"
#include "core/store.hpp"

namespace bouncegate {

namespace {
// One round trip carries at most this many jobs: a backlog after an outage is written in
// bounded pipelines, not one unbounded one.
constexpr size_t kJobsPerTrip = 512;
}  // namespace

OutcomeWriter::OutcomeWriter(std::shared_ptr<SuppressionStore> store, size_t capacity,
                             Millis linger)
    : store_(std::move(store)), capacity_(capacity), linger_(linger), thread_([this] { run(); }) {}

OutcomeWriter::~OutcomeWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool OutcomeWriter::record(OutcomeRecord rec, Millis share_pause, RecordDone done, bool urgent) {
  Job j;
  j.record = std::move(rec);
  j.pause = share_pause;
  j.record_done = std::move(done);
  return push(std::move(j), urgent || share_pause.count() > 0);
}

bool OutcomeWriter::remember(MessageNote note, NoteDone done) {
  Job j;
  j.note = std::move(note);
  j.note_done = std::move(done);
  return push(std::move(j), false);
}

bool OutcomeWriter::push(Job job, bool urgent) {
  size_t queued = 0;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= capacity_) {
      // The caller writes it itself (and waits): worth an alert when it keeps happening.
      Metrics::instance().inc("bouncegate_outcome_writer_full_total");
      return false;
    }
    queue_.push_back(std::move(job));
    queued = queue_.size();
    if (urgent) urgent_ = true;
    // While the thread lingers over a batch, a job nobody waits for needs no wake-up (the
    // futex call and the other core's wake-up are what batching saves).
    wake = urgent || sleeping_ || linger_.count() == 0 || queued >= kJobsPerTrip;
  }
  Metrics::instance().set_gauge("bouncegate_outcome_writer_queued", static_cast<double>(queued));
  if (wake) wake_.notify_one();
  return true;
}

void OutcomeWriter::flush() {
  std::unique_lock lock(mu_);
  if (!queue_.empty()) {
    urgent_ = true;
    wake_.notify_one();
  }
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

bool OutcomeWriter::due() const {
  return stopping_ || urgent_ || queue_.size() >= kJobsPerTrip;
}

size_t OutcomeWriter::round_trips() const {
  std::lock_guard lock(mu_);
  return round_trips_;
}

void OutcomeWriter::run() {
  for (;;) {
    std::vector<Job> jobs;
    {
      std::unique_lock lock(mu_);
      busy_ = false;
      if (queue_.empty()) idle_.notify_all();
      // The linger: what arrives within it goes in one trip. The thread sleeps for good (and
      // needs a wake-up) only once a whole linger passed without a job.
      if (linger_.count() > 0) wake_.wait_for(lock, linger_, [this] { return due(); });
      if (queue_.empty() && !stopping_) {
        sleeping_ = true;
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        sleeping_ = false;
        if (linger_.count() > 0) wake_.wait_for(lock, linger_, [this] { return due(); });
      }
      // Stopping writes what is queued first: nothing accepted is dropped.
      if (queue_.empty()) return;
      busy_ = true;
      while (!queue_.empty() && jobs.size() < kJobsPerTrip) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      // What a full trip left behind may hold the urgent job: it goes next, without a linger.
      urgent_ = urgent_ && !queue_.empty();
      ++round_trips_;
      Metrics::instance().set_gauge("bouncegate_outcome_writer_queued",
                                    static_cast<double>(queue_.size()));
    }
    Metrics::instance().inc("bouncegate_outcome_writer_round_trips_total");
    OutcomeBatch batch;
    for (const auto& j : jobs) {
      if (j.record) batch.records.push_back(*j.record);
      if (j.note) batch.notes.push_back(*j.note);
      batch.pause = std::max(batch.pause, j.pause);
    }
    BatchWritten w;
    try {
      w = store_->write_batch(batch);
    } catch (const std::exception& e) {
      // write_batch keeps what it can in the journal and does not throw; should it (memory),
      // each record still gets its own chance at the journal before it is called lost.
      w = BatchWritten{};
      w.records.resize(batch.records.size());
      w.record_errors.resize(batch.records.size());
      for (size_t i = 0; i < batch.records.size(); ++i) {
        try {
          w.records[i] = store_->record_or_journal(batch.records[i]);
        } catch (const std::exception& j) {
          w.record_errors[i] = std::string(e.what()) + "; " + j.what();
        }
      }
      w.notes_error = e.what();
    }
    size_t r = 0;
    for (auto& j : jobs) {
      try {
        if (j.record) {
          const size_t i = r++;
          if (j.record_done) j.record_done(w.records[i], w.record_errors[i]);
        }
        if (j.note && j.note_done) j.note_done(w.notes_error);
      } catch (const std::exception&) {
        // A callback only logs; its failure must not stop the writer.
      }
    }
    // After the callbacks, so no session waits for it: a journal kept while Redis was away
    // is replayed once Redis has taken something again.
    bool stopping = false;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    // Not while stopping (the relay's next start, or its periodic replay, does it then).
    if (w.any_written && !stopping) {
      try {
        store_->replay_if_journal_may_hold();
      } catch (...) {
        // What is kept stays kept; a later trip or the periodic replay tries again.
      }
    }
  }
}

}  // namespace bouncegate
