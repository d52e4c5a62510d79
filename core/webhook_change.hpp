// Which recorded events are changes a webhook reports (suppressed, escalated, released, expired,
// unsubscribed, resubscribed, complaint, imported), the JSON body sent for one, and its
// signature: HMAC-SHA256 over "TIMESTAMP.BODY" (docs/webhooks.md). Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/store_records.hpp"

namespace bouncegate {

// The change an event is, or nullopt for events that change nothing (a record-only outcome, a
// gate pass, a shadow-mode ask, a gate hit on a domain entry).
std::optional<std::string> webhook_change(const Event& ev);

// {"id", "change", "address", "occurred_at", "class", "action", "level", "list", "code",
//  "source", "reason", "rows"} (members that the event lacks are left out).
std::string webhook_body(const Event& ev, const std::string& change);

// Lower-case hex HMAC-SHA256 of "TIMESTAMP.BODY" under `secret`; sent as
// "Bouncegate-Signature: v1=HEX" with "Bouncegate-Timestamp: TIMESTAMP" (Unix seconds).
std::string webhook_signature(std::string_view secret, int64_t timestamp, std::string_view body);

// The wait before delivery attempt `attempt` (1: the first retry): backoff doubled per
// attempt, capped at `max`.
int64_t webhook_backoff_ms(int attempt, int64_t backoff_ms, int64_t max_ms);

}  // namespace bouncegate
