// Reply policy in one place: what a suppressed recipient, an unreachable store or a failing
// upstream turns into on the SMTP wire. Milter and relay both ask here.
#pragma once

#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/store_records.hpp"

namespace bouncegate {

// An SMTP reply split the way libmilter's smfi_setreply wants it.
struct SmtpReplyText {
  std::string code;          // "550"
  std::string enhanced;      // "5.1.1" ("" when none)
  std::string text;          // the rest
  std::string line() const;  // "550 5.1.1 text"
};

// Splits "550 5.1.1 text" into its parts (no validation beyond shape).
SmtpReplyText split_reply_line(const std::string& line);

// Refusal for a gated recipient (reject, defer, unsubscribed, complaint), from the
// configured templates: {rcpt} {code} {until} {class} {level} {lease} {list}.
SmtpReplyText gate_reply(const SuppressionConfig& cfg, const GateDecision& d,
                         const std::string& rcpt);

// A recipient whose address cannot be canonicalised (suppression.on_bad_address): the reply,
// or nullopt for accept. `why` comes from normalize_address; the raw address is not echoed.
std::optional<SmtpReplyText> bad_address_reply(const SuppressionConfig& cfg,
                                               const std::string& why);

// Upstream trouble the relay turns into a temporary reply so Postfix queues and retries.
enum class UpstreamFault {
  connect_failed,     // 421 4.4.1
  tls_failed,         // 454 4.7.0
  auth_failed,        // 454 4.7.0
  lost_during_data,   // 451 4.4.2
  timeout,            // 451 4.4.2
  protocol_error,     // 451 4.5.0
  throttled,          // 451 4.7.0 (rate limit / pause)
  store_unavailable,  // 451 4.3.0 (relay gate cannot ask)
};
SmtpReplyText upstream_failure_reply(UpstreamFault f, const std::string& detail = "");

// Limits and access rules the relay enforces itself, before or instead of the upstream.
enum class RelayRefusal {
  client_not_allowed,    // 554 5.7.1 (relay.allow)
  too_many_sessions,     // 421 4.3.2 (relay.max_sessions)
  shutting_down,         // 421 4.3.2 (SIGTERM drain)
  too_many_recipients,   // 452 4.5.3 (relay.max_recipients)
  message_too_big,       // 552 5.3.4 (relay.max_message_size, SIZE or during DATA)
  line_too_long,         // 500 5.5.2 (512-octet command line, 1000-octet text line)
  bare_newline_data,     // 550 5.5.2 (bare CR or LF in the message, relay.bare_newline: reject)
  bare_newline_command,  // 500 5.5.2 (bare CR or LF ends a command line)
  control_character,     // 501 5.5.2 (control character in a command line)
  timeout,               // 421 4.4.2 (relay.client_timeout)
};
SmtpReplyText relay_refusal_reply(RelayRefusal r);

}  // namespace bouncegate
