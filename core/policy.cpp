// Sender policy lookup.
#include "core/policy.hpp"

#include "core/unsubscribe.hpp"

namespace bouncegate {

const SenderPolicy* policy_for(const std::vector<SenderPolicy>& policies, std::string_view sender,
                               std::string_view list) {
  for (const auto& p : policies) {
    if (!sender.empty())
      for (const auto& g : p.senders)
        if (glob_match(g, sender)) return &p;
    if (!list.empty())
      for (const auto& l : p.lists)
        if (l == list) return &p;
  }
  return nullptr;
}

std::string policy_sender(std::string_view raw, const std::string& canonical) {
  if (raw.size() >= 2 && raw.front() == '<' && raw.back() == '>')
    raw = raw.substr(1, raw.size() - 2);
  if (raw.size() != canonical.size()) return "";
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != canonical[i]) return "";
  }
  return canonical;
}

std::string gate_bypass(const SenderPolicy* policy) {
  if (!policy) return "";
  std::string out = ",";
  for (OutcomeClass c : policy->bypass) out += std::string(to_string(c)) + ",";
  return out;
}

}  // namespace bouncegate
