// Is a mailed report (DSN, ARF, other complaint formats) about mail this site sent? Forged
// feedback must never suppress: the decision is made here, for every report, from evidence
// the store holds, with no I/O of its own.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace bouncegate {

struct FeedbackMatch {
  bool verified = false;
  std::string evidence;  // why: "message-id+recipient", "no bg:mid: record", ...
};

// `relayed` is the bg:mid: record of the report's original Message-ID (empty when the report
// names none or none is known); `recipient` the canonical reported address. A report matches
// when the Message-ID was relayed here and, when the record lists the message's recipients
// (field "rcpts", comma-separated canonical addresses), the reported recipient is one of them.
FeedbackMatch match_feedback(const std::map<std::string, std::string>& relayed,
                             std::string_view recipient);

// The "rcpts" field value for a relayed message's recipients; "" (field not stored) beyond
// kMaxListedRecipients.
inline constexpr size_t kMaxListedRecipients = 200;
std::string recipients_field(const std::vector<std::string>& canonical_recipients);

}  // namespace bouncegate
