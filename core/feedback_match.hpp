// Is a mailed report (DSN, ARF, other complaint formats) about mail this site sent? Forged
// feedback must never suppress: the decision is made here, for every report, from evidence
// the store holds, with no I/O of its own.
#pragma once

#include <map>
#include <string>

namespace bouncegate {

struct FeedbackMatch {
  bool verified = false;
  std::string evidence;  // why: "message-id+recipient", "no bg:mid: record", ...
};

// `relayed` is the bg:mid: record of the report's original Message-ID (empty when the report
// names none or none is known). A report matches when the Message-ID was relayed here and,
// when the record lists its recipients (field rcpts), `recipient_listed` says the reported
// recipient is among them.
FeedbackMatch match_feedback(const std::map<std::string, std::string>& relayed,
                             bool recipient_listed);

// Whether match_feedback needs the recipient looked up (the record lists recipients).
bool lists_recipients(const std::map<std::string, std::string>& relayed);

}  // namespace bouncegate
