// SuppressionStore: every read and state change of the suppression cache in Redis. Each state
// change of one address is one Lua script call; the lease arithmetic lives in that script only.
// The records it takes and returns are in core/store_records.hpp (no Redis client types).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/outcome.hpp"
#include "core/store_records.hpp"

namespace bouncegate {

class LocalFilter;
class RedisPool;
struct RedisValue;

class SuppressionStore {
 public:
  SuppressionStore(const RedisConfig& redis, const SuppressionConfig& suppression);
  ~SuppressionStore();
  SuppressionStore(const SuppressionStore&) = delete;
  SuppressionStore& operator=(const SuppressionStore&) = delete;

  // The RCPT decision. With `list` set, unsubscribes from that list (or "*")
  // refuse too. A hit bumps the lease one step (unless dry_run, for shadow mode).
  // scope unsubscribe: only the unsubscription from `list` (the milter's end-of-message check
  // for lists known by List-Id); the event is written like any gate decision.
  // `bypass`: the sender policy's classes (gate_bypass(), core/policy.hpp) that pass.
  GateDecision gate(const std::string& address, const std::string& list, const EventContext& ctx,
                    bool dry_run = false, GateScope scope = GateScope::all,
                    const std::string& bypass = "");
  // The relay's asynchronous gate (relay/async_redis): the same script call as gate() as one
  // command (EVALSHA, or EVAL with the body after NOSCRIPT), and the decision from its
  // reply (throws StoreError on an error reply). gate() is these two around a round trip.
  std::vector<std::string> gate_command(const std::string& address, const std::string& list,
                                        const EventContext& ctx, bool dry_run,
                                        const std::string& bypass, bool with_body) const;
  GateDecision gate_decision(const std::string& address, bool dry_run, const RedisValue& reply);
  // The gate's first question, a plain EXISTS over every key the script could find something
  // in for this recipient: its own entry, its unsubscribes (when the sender has a list) and
  // the domain entries of its domain and the parents'. A 0 (precheck_clean) is the script's
  // "pass" without running it (clean_pass() counts it as one); anything else, the script
  // decides. So a clean recipient costs Redis one cheap command, a listed one one more trip.
  // Empty: nothing to ask (scope unsubscribe without a list), clean.
  std::vector<std::string> gate_precheck_command(const std::string& address,
                                                 const std::string& list,
                                                 GateScope scope = GateScope::all) const;
  static bool precheck_clean(const RedisValue& reply);
  GateDecision clean_pass() const;
  // Counts a recipient the local filter could not pass (gate() does it itself).
  void count_filter_ask() const;
  // Applies an outcome's action: a lease for suppress/defer, permanent entry, unsubscribe for
  // reject; every outcome goes to the event stream and hourly per-domain counters.
  // With outcome.dedupe_id set, an id seen within dedupe_ttl records nothing (.duplicate).
  RecordResult record(const OutcomeRecord& outcome);
  // Many records in one pipelined round trip (imports); returns how many were written (not
  // duplicates). A failure part-way throws; the rows before it stay written.
  size_t record_batch(const std::vector<OutcomeRecord>& batch);
  void unsubscribe(const std::string& address, const std::string& list, const EventContext& ctx);
  // Takes `address` off one list (or "*"); true when it was on it. Writes a resubscribe event.
  bool resubscribe(const std::string& address, const std::string& list, const EventContext& ctx);
  // Every unsubscription: (address, list, unsubscribed at ms), SCAN order.
  struct Unsubscription {
    std::string address;
    std::string list;
    int64_t at_ms = 0;
    std::string source;  // web, milter, cli, ... ("" for entries from before it was kept)
  };
  std::vector<Unsubscription> scan_unsubscriptions(const std::string& domain = "");
  void for_each_unsubscription(const std::string& domain,
                               const std::function<bool(const Unsubscription&)>& visit);
  // One summary event for a whole import (rows are not written to the stream one by one).
  void log_import(const std::string& file, size_t rows, const EventContext& ctx);
  bool remove(const std::string& address, const EventContext& ctx);
  // Leases due by now (the due-time index bg:expiry, no key scan): each entry that is gone gets
  // one "expired" event. At most `limit` per call; returns how many expired.
  size_t sweep_expired(size_t limit = 1000);
  std::optional<Entry> get(const std::string& address);
  std::map<std::string, int64_t> unsubscriptions(const std::string& address);
  std::vector<Unsubscription> unsubscription_list(const std::string& address);
  std::vector<Entry> scan(const ScanFilter& filter);
  // About `count` entries from `cursor` ("0": the start), SCAN order; entries that change
  // meanwhile may be seen twice or not at all, as with SCAN itself.
  EntryPage scan_page(const ScanFilter& filter, const std::string& cursor, size_t count);
  // What gate() would answer for each address (domain entries and the list's unsubscribes
  // included), read only: no hit, no lease step, no event. One pipelined round trip.
  // `bypass`: a sender policy's classes (gate_bypass()), as for gate().
  std::vector<GateDecision> check(const std::vector<std::string>& addresses,
                                  const std::string& list, const std::string& bypass = "");
  // Streams entries (constant memory, SCAN order) until `visit` returns false.
  void for_each_entry(const ScanFilter& filter, const std::function<bool(const Entry&)>& visit);
  std::vector<Event> events_since(int64_t since_ms, size_t max = 0);
  // Streams the events recorded (stream id time) from since to until (0: the end), oldest
  // first, in constant memory, until `visit` returns false.
  void for_each_event(int64_t since_ms, int64_t until_ms,
                      const std::function<bool(const Event&)>& visit);
  // domain -> hour ("2026112710", UTC) -> counter -> count, for the hours from since to until.
  // Counters are outcome classes, plus "unverified", "manual" and "imported" (not outcomes).
  using HourlyStats = std::map<std::string, std::map<std::string, std::map<std::string, int64_t>>>;
  HourlyStats stats_by_hour(int64_t since_ms, int64_t until_ms, const std::string& domain = "");
  // domain -> class -> count for hours since `since_ms`.
  std::map<std::string, std::map<std::string, int64_t>> stats(int64_t since_ms,
                                                              const std::string& domain = "");
  // bg:mid:{id} fields (queue id, sender) and, when given, the recipients of this
  // transaction added to the set bg:midr:{id}: a Message-ID sent in several transactions
  // (Postfix splits at 50 recipients) keeps every recipient. The hash then has rcpts=1.
  void remember_message(const std::string& message_id,
                        const std::map<std::string, std::string>& fields,
                        const std::vector<std::string>& recipients = {});
  std::map<std::string, std::string> lookup_message(const std::string& message_id);
  // True when `address` is among the recipients recorded for `message_id`.
  bool message_had_recipient(const std::string& message_id, const std::string& address);
  // Shared token bucket: true when a message may be sent now.
  bool take_send_token(const std::string& bucket, int per_minute, int per_hour);
  // Gives back one token of each bucket (a message the upstream never received).
  void refund_send_token(const std::string& bucket);
  // The fleet-wide throttle pause (bg:pause, TTL = the pause): set by the relay that saw the
  // upstream's throttle reply, read by every relay once a second. 0: no pause.
  void share_pause(Millis pause);
  int64_t shared_pause_until();
  // The fleet's upstream connection slots (bg:upstream:slots): claim one for `member` when
  // fewer than `max` are held (true), renew the lapse time of those a relay holds (`readd`:
  // also those that lapsed, after Redis was out of reach), release.
  bool claim_upstream_slot(const std::string& member, int max, Millis ttl);
  void renew_upstream_slots(const std::vector<std::string>& members, Millis ttl,
                            bool readd = false);
  void release_upstream_slots(const std::vector<std::string>& members);
  void ping();

  // Writes outcomes that could not reach Redis to the local journal; replay applies them.
  RecordResult record_or_journal(const OutcomeRecord& outcome);
  // The relay's outcome writer (core/outcome_writer.hpp): records, Message-IDs and a shared
  // pause in one pipelined round trip. A record Redis does not take goes to the journal, as
  // with record_or_journal. It does not replay the journal (the caller does, after
  // answering its callers: replay_if_journal_may_hold).
  BatchWritten write_batch(const OutcomeBatch& batch);
  // After a write that reached Redis: replays the journal when it may hold records. A
  // failed replay keeps what is kept (the relay's periodic replay tries again).
  void replay_if_journal_may_hold();
  size_t replay_journal();
  size_t journal_size();

  const SuppressionConfig& config() const { return sup_; }
  // gate.local_filter: from now on gate() passes a recipient without a round trip when the
  // filter surely holds neither it nor its domain entries (the gating daemons call this).
  void use_local_filter(std::shared_ptr<const LocalFilter> filter) { filter_ = std::move(filter); }
  // True when the local filter surely holds neither `address` nor its domain entries: gate()
  // would pass it without a round trip. Cheap and non-blocking (the relay asks it on its io
  // thread before handing the gate call to a pool thread). Counted as a filtered pass.
  bool surely_clean(const std::string& address) const;
  // An outcome just learned may give `address` an entry: the local filter (if any) has it at
  // once, so the same process never passes it locally before the event stream says so.
  void note_entry_coming(const std::string& address) const;
  // The names gate() asks about: the address and its *@domain entries (nearest first).
  static std::vector<std::string> gate_names(const std::string& address);
  std::string key_for(const std::string& address) const;

 private:
  std::string unsub_key(const std::string& address) const;
  std::string stat_key(const std::string& domain, const std::string& hour) const;
  std::string seen_key(const std::string& id) const;
  std::string soft_key(const std::string& address) const;
  std::string mid_key(const std::string& id) const;
  std::string midr_key(const std::string& id) const;
  std::string rate_key(const std::string& bucket) const;
  std::string events_key() const;
  std::string expiry_key() const;
  struct ScriptCall {
    std::vector<std::string> keys, args;
  };
  ScriptCall record_call(const OutcomeRecord& o, int64_t now) const;
  ScriptCall gate_script_call(const std::string& address, const std::string& list,
                              const EventContext& ctx, bool dry_run, GateScope scope,
                              const std::string& bypass) const;
  RecordResult record_result(const OutcomeRecord& o, const RedisValue& v);
  std::vector<std::vector<std::string>> remember_commands(const MessageNote& note) const;
  std::vector<std::string> pause_command(Millis pause) const;
  // Appends one record to suppression.journal_path; throws StoreError when it cannot.
  RecordResult journal_record(const OutcomeRecord& outcome);
  RedisValue run_script(int which, const std::vector<std::string>& keys,
                        const std::vector<std::string>& args);
  // The lease ladder in ms as script arguments, formatted once per store (config is immutable).
  const std::vector<std::string>& ladder_args() const { return ladder_args_; }

  RedisConfig redis_cfg_;
  SuppressionConfig sup_;
  std::vector<std::string> ladder_args_;
  std::unique_ptr<RedisPool> pool_;
  std::atomic<bool> journal_maybe_{true};  // the journal may hold records (record_or_journal)
  std::atomic<bool> record_script_loaded_{false};  // write_batch has seen SCRIPT LOAD succeed
  std::shared_ptr<const LocalFilter> filter_;
};

}  // namespace bouncegate
