// Parser for bounce and complaint messages: RFC 3464 DSNs, RFC 5965 ARF reports,
// RFC 3834 auto-replies and the free-text bounces many MTAs still send. Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bouncegate {

enum class FeedbackKind { not_a_message, ignored, dsn, arf, nonstandard_bounce };

struct FailedRecipient {
  std::string recipient;           // final recipient, lower-cased domain, no <>, no "rfc822;"
  std::string original_recipient;  // Original-Recipient when the report carries one
  std::string action;              // failed | delayed | delivered | relayed | expanded | ""
  std::string status;              // enhanced status code ("5.1.1") as found, "" when none
  std::string diagnostic;          // Diagnostic-Code text without its type prefix, unfolded
  std::string remote_mta;          // Remote-MTA without its "dns;" prefix
  std::string feedback_type;       // ARF only: abuse, fraud, opt-out, ...
  std::string reply_code;          // three-digit SMTP reply code seen in the diagnostic, if any
};

struct ParsedFeedback {
  FeedbackKind kind = FeedbackKind::not_a_message;
  std::string reason;               // why ignored / not_a_message, human readable
  std::string original_message_id;  // Message-ID of the returned original, without <>
  std::string reporting_mta;
  std::vector<FailedRecipient> recipients;
};

// Never throws; malformed, truncated or binary input degrades to not_a_message or a
// partial result.
ParsedFeedback parse_feedback(std::string_view raw_message);

// VERP: "bounces+alice=example.com@bounce.example.com" -> "alice@example.com";
// nullopt if the address is not in VERP form.
std::optional<std::string> decode_verp(std::string_view local_at_domain);

const char* to_string(FeedbackKind kind);

}  // namespace bouncegate
