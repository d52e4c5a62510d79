// The records the suppression store takes and returns (entries, gate decisions, outcomes,
// events) and its failure type: plain data, no Redis client types, for every module to include.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/outcome.hpp"

namespace bouncegate {

// Redis could not be reached, timed out or answered with a protocol error.
struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One suppressed address as stored in bg:s:{addr}.
struct Entry {
  std::string address;
  OutcomeClass cls = OutcomeClass::unknown;
  Action action = Action::suppress;
  int level = 0;
  int64_t ttl_ms = -1;  // -1: permanent
  std::string code;
  std::string text;
  std::string source;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
  int64_t hits = 0;
  std::string reason;
  bool subdomains = false;   // a domain entry ("*@d") that covers the sub-domains of d too
  int64_t delivered_ms = 0;  // a delivery was reported after the entry was made (0: none)
};

enum class GateResult { pass, reject, defer, unsubscribed };
enum class GateScope { all, unsubscribe };
std::string_view to_string(GateResult r);

struct GateDecision {
  GateResult result = GateResult::pass;
  std::optional<Entry> entry;  // after the lease bump; its address is "*@d" for a domain entry
  std::string list;            // the list (or "*") an unsubscribed recipient left
};

// Context logged with every event.
struct EventContext {
  std::string queue_id;
  std::string message_id;
  Source source = Source::cli;
  std::string actor;  // who asked: an API token's name ("" for none)
};

// The `source` written with an event: "api:NAME" for a change made with API token NAME.
inline std::string source_label(const EventContext& c) {
  return std::string(to_string(c.source)) + (c.actor.empty() ? "" : ":" + c.actor);
}

// Where a record comes from. Only delivery outcomes are evidence about a domain: operator
// adds and imported rows are counted apart ("manual", "imported"), and an import writes one
// summary event instead of one per row.
enum class RecordOrigin { outcome, manual, import };
std::string_view to_string(RecordOrigin o);
std::optional<RecordOrigin> record_origin_from(std::string_view s);

struct OutcomeRecord {
  std::string address;  // normalised
  OutcomeClass cls = OutcomeClass::unknown;
  Action action = Action::record;
  std::string code;  // "550 5.1.1"
  std::string text;  // full reply text (stored up to 512 bytes, events keep 2048)
  std::string rule;
  EventContext ctx;
  std::optional<Millis> ttl;  // overrides ladder[0] for a new entry (cli add, upstream mirror)
  std::string reason;
  // false: not this address's domain's outcome (the relay's own connect/TLS/AUTH trouble);
  // the hourly counters file it under "-".
  bool counts_for_domain = true;
  // Event de-duplication in the same atomic step (e.g. "acs:EVENT-ID"); empty: none.
  std::string dedupe_id;
  Millis dedupe_ttl{0};
  // Mailed feedback only: "yes" when tied to relayed mail, "no" when not (then never acted on,
  // counted under "unverified"); "" for every other outcome.
  std::string verified;
  RecordOrigin origin = RecordOrigin::outcome;
  // Action reject (unsubscribe): the list left; empty means every list ("*").
  std::string list;
  // Imported rows keep the time they were first seen (or unsubscribed); 0: now.
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  bool subdomains = false;  // address "*@d": the entry covers sub-domains of d as well
  // The classification says the reply is about the recipient's mailbox or domain (rule
  // concerns recipient or recipient_domain). Only such soft outcomes count toward
  // suppression.escalation; downgrade_to_record clears it.
  bool about_mailbox = false;
  // The provider's own time of the outcome (an ACS report's deliveryAttemptTimestamp): the
  // event's time and its hourly counter; the time it reached bouncegate is kept beside it as
  // received_ts. 0: now.
  int64_t occurred_ms = 0;
  // Evidence for a support case: the provider's message id, the original envelope sender, the
  // receiving MTA's host name.
  std::string provider_message_id;
  std::string sender;
  std::string remote_mta;
  // The outcome is the upstream refusing because of its own suppression list (ACS
  // "Suppressed"): an existing lease steps one level, as a gate hit does.
  bool steps_lease = false;
};

// What a record call did: the entry after it (none for outcomes that keep no entry), whether
// the idempotency key had been seen (nothing recorded), whether it went to the local journal.
// Reads like the optional entry it carries.
struct RecordResult {
  std::optional<Entry> entry;
  bool duplicate = false;
  bool journaled = false;
  explicit operator bool() const { return entry.has_value(); }
  const Entry& operator*() const { return *entry; }
  const Entry* operator->() const { return &*entry; }
};

// A Message-ID sent upstream: its transaction's fields (queue id, sender) and recipients
// (SuppressionStore::remember_message).
struct MessageNote {
  std::string message_id;
  std::map<std::string, std::string> fields;
  std::vector<std::string> recipients;
};

// What the relay's outcome writer sends in one round trip (SuppressionStore::write_batch).
struct OutcomeBatch {
  std::vector<OutcomeRecord> records;
  std::vector<MessageNote> notes;
  Millis pause{0};  // the fleet-wide throttle pause to share (0: none)
};

struct BatchWritten {
  std::vector<RecordResult> records;       // one per record, in order
  std::vector<std::string> record_errors;  // per record: "" or why it was neither written nor kept
  std::string notes_error;                 // "" or why the Message-IDs were not stored
  bool any_written = false;                // Redis took something: the journal may be replayed now
};

struct Event {
  std::string id;  // stream id
  int64_t ts_ms = 0;
  std::map<std::string, std::string> fields;
  std::string get(const std::string& k) const {
    auto it = fields.find(k);
    return it == fields.end() ? std::string() : it->second;
  }
};

struct ScanFilter {
  std::string cls;
  std::string domain;
  std::string source;    // "" any; "relay", "api" (every "api:NAME" too), ...
  int64_t since_ms = 0;  // 0 any; else last seen at or after
  size_t limit = 0;      // 0: all
};

// One page of a cursor walk over the entries: follow `next_cursor` until it is "0".
struct EntryPage {
  std::vector<Entry> entries;
  std::string next_cursor;
};

}  // namespace bouncegate
