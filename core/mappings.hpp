// The mappings beside the reply rules, as data (core/rules/mappings.yaml, compiled in): the
// default action of each class, ACS delivery statuses and RFC 3464 DSN actions to classes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/outcome.hpp"

namespace bouncegate {

// One status word (ACS deliveryStatus, DSN Action) and what it means.
struct StatusMapping {
  std::string word;
  bool outcome = true;  // false: not a final outcome, nothing is recorded
  OutcomeClass cls = OutcomeClass::unknown;
  std::string rule;             // the rule id recorded with the outcome
  bool through_rules = false;   // the reply text is classified first; cls only when it says nothing
  bool never_suppress = false;  // the class's action is at most `record`
  std::string why;
};

struct Mappings {
  std::vector<std::pair<OutcomeClass, Action>> default_actions;
  std::vector<StatusMapping> acs_status;
  std::vector<StatusMapping> dsn_action;
  // nullptr for a word the table does not know.
  const StatusMapping* acs(std::string_view status) const;
  const StatusMapping* dsn(std::string_view action) const;
};

// Parsed once from the compiled-in file; std::logic_error if the shipped file is broken
// (a unit test loads it).
const Mappings& shipped_mappings();
// For tests: the same parser on any text.
Mappings parse_mappings(const std::string& yaml);

}  // namespace bouncegate
