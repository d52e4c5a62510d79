// Matching mailed feedback to relayed mail (see feedback_match.hpp).
#include "core/feedback_match.hpp"

namespace bouncegate {

FeedbackMatch match_feedback(const std::map<std::string, std::string>& relayed,
                             std::string_view recipient) {
  if (relayed.empty()) return {false, "original Message-ID not relayed here"};
  auto it = relayed.find("rcpts");
  if (it == relayed.end() || it->second.empty()) return {true, "message-id"};
  std::string_view list = it->second;
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (list.substr(0, comma) == recipient) return {true, "message-id+recipient"};
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return {false, "recipient was not sent that message"};
}

std::string recipients_field(const std::vector<std::string>& canonical_recipients) {
  // A list cut short would make later recipients look unsent: none is stored instead, and
  // the Message-ID alone then ties a report to the message.
  if (canonical_recipients.size() > kMaxListedRecipients) return "";
  std::string out;
  for (const auto& r : canonical_recipients) {
    if (!out.empty()) out += ',';
    out += r;
  }
  return out;
}

}  // namespace bouncegate
