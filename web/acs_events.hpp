// Azure Event Grid deliveries from ACS Email: a request body (Event Grid schema array or
// CloudEvents 1.0, single or batch) becomes a validated plan of outcomes. Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/store_records.hpp"

namespace bouncegate::web {

inline constexpr const char* kDeliveryReportType =
    "Microsoft.Communication.EmailDeliveryReportReceived";
inline constexpr const char* kSubscriptionValidationType =
    "Microsoft.EventGrid.SubscriptionValidationEvent";

// One event of the batch and what it turns into.
struct PlannedEvent {
  std::string id;    // Event Grid / CloudEvents id, the de-duplication key
  std::string type;  // eventType (Event Grid) or type (CloudEvents)
  std::string status;
  std::optional<OutcomeRecord> outcome;  // nullopt: nothing to record (Expanded, other types)
  std::string internet_message_id;       // to link back to the relay's bg:mid: record
  std::string why_ignored;
};

struct EventBatch {
  std::optional<std::string> validation_code;  // a SubscriptionValidationEvent's code
  std::vector<PlannedEvent> events;
};

// The whole batch or nothing: nullopt with `why` when the body is not JSON, not an event
// array/object, or any delivery report lacks id, status or a usable recipient.
std::optional<EventBatch> plan_event_batch(const Config& cfg, std::string_view body,
                                           size_t max_bytes, std::string* why);

// What one ACS delivery status turns into (Bounced text goes through the classifier).
std::optional<OutcomeRecord> outcome_for_delivery_status(const Config& cfg,
                                                         const std::string& address,
                                                         const std::string& status,
                                                         const std::string& status_message,
                                                         const EventContext& ctx);

}  // namespace bouncegate::web
