// SuppressionStore's pipelined writes: many records in one round trip, for imports
// (record_batch) and for the relay's outcome writer (write_batch: records, Message-IDs and
// the shared pause together).
#include <algorithm>
#include <chrono>

#include "core/metrics.hpp"
#include "core/redis_pool.hpp"
#include "core/store.hpp"
#include "core/store_scripts.hpp"

namespace bouncegate {

size_t SuppressionStore::record_batch(const std::vector<OutcomeRecord>& batch) {
  if (batch.empty()) return 0;
  const auto& sc = store_scripts::script(store_scripts::kRecord);
  // Loads the script first so that every pipelined EVALSHA finds it.
  RedisValue loaded = pool_->command({"SCRIPT", "LOAD", sc.body});
  if (loaded.type == RedisValue::error) throw StoreError("script load: " + loaded.str);
  int64_t now = now_ms();
  std::vector<std::vector<std::string>> cmds;
  cmds.reserve(batch.size() + 1);
  // Imported rows write no event each (a large import must not push evidence out of the
  // capped stream); one marker per batch, ahead of its rows, tells every gate.local_filter
  // that entries are arriving unseen, so it stands aside until it has read the keys again.
  if (std::any_of(batch.begin(), batch.end(),
                  [](const OutcomeRecord& o) { return o.origin == RecordOrigin::import; }))
    cmds.push_back({"XADD", events_key(), "MAXLEN", "~", std::to_string(sup_.events_maxlen), "*",
                    "kind", "import-batch", "ts", std::to_string(now), "rows",
                    std::to_string(batch.size())});
  const size_t first_row = cmds.size();
  for (const auto& o : batch) {
    ScriptCall c = record_call(o, now);
    std::vector<std::string> argv = {"EVALSHA", sc.sha, std::to_string(c.keys.size())};
    argv.insert(argv.end(), c.keys.begin(), c.keys.end());
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    cmds.push_back(std::move(argv));
  }
  auto replies = pool_->pipeline(cmds);
  size_t written = 0;
  for (size_t i = first_row; i < replies.size(); ++i) {
    if (replies[i].type == RedisValue::error)
      throw StoreError("record: " + replies[i].str + " (row " + std::to_string(i - first_row + 1) +
                       " of the batch; the rows before it were written)");
    if (!record_result(batch[i - first_row], replies[i]).duplicate) ++written;
  }
  return written;
}

BatchWritten SuppressionStore::write_batch(const OutcomeBatch& batch) {
  BatchWritten out;
  out.records.resize(batch.records.size());
  out.record_errors.resize(batch.records.size());
  const auto& sc = store_scripts::script(store_scripts::kRecord);
  int64_t now = now_ms();
  // SCRIPT LOAD ahead of the EVALSHAs in the same pipeline (Redis runs them in order) until
  // it has been seen loaded; a NOSCRIPT (a restart, a failover) sends it again next time.
  std::vector<std::vector<std::string>> cmds;
  const bool load = !record_script_loaded_.load(std::memory_order_relaxed);
  if (load) cmds.push_back({"SCRIPT", "LOAD", sc.body});
  const bool pause = batch.pause.count() > 0;
  if (pause) cmds.push_back(pause_command(batch.pause));
  const size_t first_record = cmds.size();
  for (const auto& o : batch.records) {
    ScriptCall c = record_call(o, now);
    std::vector<std::string> argv = {"EVALSHA", sc.sha, std::to_string(c.keys.size())};
    argv.insert(argv.end(), c.keys.begin(), c.keys.end());
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    cmds.push_back(std::move(argv));
  }
  const size_t first_note = cmds.size();
  for (const auto& n : batch.notes)
    for (auto& c : remember_commands(n)) cmds.push_back(std::move(c));
  auto& metrics = Metrics::instance();
  auto started = std::chrono::steady_clock::now();
  std::vector<RedisValue> replies;
  std::string failed;
  try {
    replies = pool_->pipeline(cmds);
    if (replies.size() != cmds.size()) throw StoreError("pipeline: short reply");
    metrics.observe(
        "bouncegate_store_call_seconds",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
        {{"op", "write_batch"}});
  } catch (const StoreError& e) {
    failed = e.what();
    metrics.inc("bouncegate_store_errors_total", {{"op", "write_batch"}});
    // A new connection may reach a restarted Redis: load the script again with the next trip.
    record_script_loaded_.store(false, std::memory_order_relaxed);
  }
  const bool reached = failed.empty();
  if (reached && load && replies[0].type != RedisValue::error)
    record_script_loaded_.store(true, std::memory_order_relaxed);
  for (size_t i = 0; i < batch.records.size(); ++i) {
    const OutcomeRecord& o = batch.records[i];
    try {
      if (!reached) throw StoreError(failed);
      const RedisValue& v = replies[first_record + i];
      if (v.type == RedisValue::error && v.str.rfind("NOSCRIPT", 0) == 0) {
        // A restart or failover emptied the script cache: this record goes again on its own
        // (record() falls back to EVAL), and the next trip sends SCRIPT LOAD first.
        record_script_loaded_.store(false, std::memory_order_relaxed);
        out.records[i] = record(o);
        out.any_written = true;
        continue;
      }
      if (v.type == RedisValue::error) {
        metrics.inc("bouncegate_store_errors_total", {{"op", sc.name}});
        throw StoreError("record: " + v.str);
      }
      out.records[i] = record_result(o, v);
      out.any_written = true;
    } catch (const std::exception& e) {
      // Kept for replay: its record id makes a write that did land count once.
      try {
        out.records[i] = journal_record(o);
      } catch (const std::exception& j) {
        out.record_errors[i] = std::string(e.what()) + "; " + j.what();
      }
    }
  }
  if (!reached) {
    out.notes_error = failed;
    return out;
  }
  // A pause Redis refused is not reported: the relay that saw the throttle holds it locally.
  for (size_t i = first_note; i < replies.size() && out.notes_error.empty(); ++i)
    if (replies[i].type == RedisValue::error)
      out.notes_error = "remember_message: " + replies[i].str;
  if (batch.records.empty() && out.notes_error.empty()) out.any_written = true;
  return out;
}

}  // namespace bouncegate
