// ACS EmailDeliveryReportReceived → outcomes: the status mapping is data
// (core/rules/mappings.yaml); the statusMessage of Failed, Bounced and Quarantined reports is
// classified by the configured rules like every other reply.
#include "web/acs_events.hpp"

#include "core/address.hpp"
#include "core/clock.hpp"
#include "core/json_parse.hpp"
#include "core/learn.hpp"
#include "core/mappings.hpp"
#include "core/received_reply.hpp"

namespace bouncegate::web {

std::optional<OutcomeRecord> outcome_for_delivery_status(const Config& cfg,
                                                         const std::string& address,
                                                         const std::string& status,
                                                         const std::string& status_message,
                                                         const EventContext& ctx) {
  const StatusMapping* m = shipped_mappings().acs(status);
  // A status newer than the table: keep the evidence, decide nothing.
  if (!m)
    return outcome_for_class(cfg, address, OutcomeClass::unknown, "", status_message, ctx,
                             "acs-status-unrecognised");
  if (!m->outcome) return std::nullopt;
  // Failed, Bounced and Quarantined reports usually carry the receiver's own reply in
  // statusMessage: it goes through the same rules as a reply the relay sees. ACS's status
  // alone never suppresses (its table calls a bare 550 hard; bouncegate does not).
  if (m->through_rules) {
    Reply reply = parse_reply(status_message);
    if (!reply.valid) reply = reply_from_status("", status_message);
    if (reply.valid) {
      Learned l = learn_from_reply(cfg, address, SmtpCommand::any, reply, ctx);
      if (l.record.cls != OutcomeClass::unknown && l.record.cls != OutcomeClass::delivered)
        return l.record;
    }
  }
  return outcome_for_class(cfg, address, m->cls, "", status_message, ctx, m->rule);
}

namespace {

std::string strip_angles(std::string s) {
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  return s;
}

// Event Grid schema names the type `eventType`, CloudEvents 1.0 names it `type`.
std::optional<std::string> event_type_of(const JsonValue& e) {
  if (auto t = e.string_at("eventType")) return t;
  return e.string_at("type");
}

// The time the provider refused (or delivered): data.deliveryAttemptTimestamp (the wire name
// is spelled deliveryAttemptTimeStamp in Microsoft's samples; both are read), else the event's
// eventTime (Event Grid) or time (CloudEvents), else now. Event Grid retries for up to a day;
// a time more than 30 days old or 5 minutes ahead is not believed.
int64_t report_time(const JsonValue& e, const JsonValue& data) {
  const int64_t now = now_ms();
  for (const auto& [obj, key] :
       std::vector<std::pair<const JsonValue*, const char*>>{{&data, "deliveryAttemptTimestamp"},
                                                             {&data, "deliveryAttemptTimeStamp"},
                                                             {&e, "eventTime"},
                                                             {&e, "time"}})
    if (auto t = obj->string_at(key))
      if (auto ms = parse_rfc3339(*t); ms && *ms > now - 30 * 86'400'000ll && *ms < now + 300'000)
        return *ms;
  return now;
}

bool plan_one(const Config& cfg, const JsonValue& e, size_t index, EventBatch& batch,
              std::string* why) {
  auto fail = [&](const std::string& what) {
    *why = "event " + std::to_string(index) + ": " + what;
    return false;
  };
  if (!e.is_object()) return fail("not an object");
  PlannedEvent p;
  auto id = e.string_at("id");
  if (!id || id->empty()) return fail("missing id");
  if (id->size() > 256) return fail("id longer than 256 characters");
  p.id = *id;
  auto type = event_type_of(e);
  if (!type || type->empty()) return fail("missing eventType/type");
  p.type = *type;
  const JsonValue* data = e.find("data");
  if (p.type == kSubscriptionValidationType) {
    auto code = data ? data->string_at("validationCode") : std::nullopt;
    if (!code || code->empty()) return fail("validation event without data.validationCode");
    batch.validation_code = *code;
    p.why_ignored = "subscription validation";
    batch.events.push_back(std::move(p));
    return true;
  }
  if (p.type != kDeliveryReportType) {
    p.why_ignored = "event type not handled";
    batch.events.push_back(std::move(p));
    return true;
  }
  if (!data || !data->is_object()) return fail("delivery report without data object");
  auto status = data->string_at("status");
  if (!status || status->empty()) return fail("delivery report without data.status");
  p.status = *status;
  auto rcpt = data->string_at("recipient");
  if (!rcpt) return fail("delivery report without data.recipient");
  std::string bad;
  auto addr = normalize_address(*rcpt, &bad);
  if (!addr) return fail("data.recipient: " + bad);
  std::string message, remote_mta;
  if (const JsonValue* details = data->find("deliveryStatusDetails")) {
    if (!details->is_object() && !details->is_null())
      return fail("data.deliveryStatusDetails is not an object");
    if (const JsonValue* m = details->find("statusMessage")) {
      if (!m->is_string() && !m->is_null())
        return fail("deliveryStatusDetails.statusMessage is not a string");
      message = m->text;
    }
    remote_mta = details->string_at("recipientMailServerHostName").value_or("");
  }
  p.internet_message_id = strip_angles(data->string_at("internetMessageId").value_or(""));
  EventContext ec;
  ec.source = Source::acs;
  ec.message_id = p.internet_message_id;
  p.outcome = outcome_for_delivery_status(cfg, addr->address, p.status, message, ec);
  if (!p.outcome) {
    p.why_ignored = "status " + p.status + " is not an outcome";
  } else {
    // Evidence for a support case: the provider's time and ids, kept with the outcome.
    OutcomeRecord& o = *p.outcome;
    o.occurred_ms = report_time(e, *data);
    o.provider_message_id = data->string_at("messageId").value_or("").substr(0, 256);
    o.sender = data->string_at("sender").value_or("").substr(0, 256);
    o.remote_mta = remote_mta.substr(0, 256);
    // ACS's own list refused: mirrored as a gate hit would be (one step up, never back to 24h).
    o.steps_lease = o.cls == OutcomeClass::upstream_suppressed;
  }
  batch.events.push_back(std::move(p));
  return true;
}

}  // namespace

std::optional<EventBatch> plan_event_batch(const Config& cfg, std::string_view body,
                                           size_t max_bytes, std::string* why) {
  JsonLimits limits;
  limits.max_bytes = max_bytes;
  auto doc = parse_json(body, why, limits);
  if (!doc) {
    *why = "invalid JSON: " + *why;
    return std::nullopt;
  }
  EventBatch batch;
  // Event Grid schema and CloudEvents batches are arrays; a single CloudEvent is an object.
  if (doc->is_object()) {
    if (!plan_one(cfg, *doc, 0, batch, why)) return std::nullopt;
  } else if (doc->is_array()) {
    if (doc->items.empty()) {
      *why = "empty event array";
      return std::nullopt;
    }
    for (size_t i = 0; i < doc->items.size(); ++i)
      if (!plan_one(cfg, doc->items[i], i, batch, why)) return std::nullopt;
  } else {
    *why = "body is neither an event array nor an event object";
    return std::nullopt;
  }
  return batch;
}

}  // namespace bouncegate::web
