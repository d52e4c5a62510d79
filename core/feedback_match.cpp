// Matching mailed feedback to relayed mail (see feedback_match.hpp).
#include "core/feedback_match.hpp"

namespace bouncegate {

FeedbackMatch match_feedback(const std::map<std::string, std::string>& relayed,
                             bool recipient_listed) {
  if (relayed.empty()) return {false, "original Message-ID not relayed here"};
  if (!lists_recipients(relayed)) return {true, "message-id"};
  if (recipient_listed) return {true, "message-id+recipient"};
  return {false, "recipient was not sent that message"};
}

bool lists_recipients(const std::map<std::string, std::string>& relayed) {
  auto it = relayed.find("rcpts");
  return it != relayed.end() && it->second == "1";
}

}  // namespace bouncegate
