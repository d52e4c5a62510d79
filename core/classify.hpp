// Reply classification: an ordered rule list (first match wins) turns an SMTP reply, and the
// command that drew it, into an outcome class. Rules are data (core/rules/default_rules.yaml).
#pragma once

#include <memory>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/outcome.hpp"
#include "core/received_reply.hpp"

namespace bouncegate {

// A rule as written in YAML; every present criterion must match (lists mean "any of").
struct RuleSpec {
  std::string id;
  std::string cls;
  std::vector<std::string> commands;  // CONNECT, EHLO, MAIL, RCPT, DATA, DATA-END, any
  std::vector<std::string> codes;     // "550", "55x", "5xx"
  std::vector<std::string> enhanced;  // "5.1.1", "5.7.x", "5.7.20-26", "x.1.1"
  std::string text;                   // case-insensitive ECMAScript regex, matched against the
                                      // reply with addresses, URLs, host names and IPs taken out
  // Who the reply is about: recipient (the address), recipient_domain, sender (our address,
  // account or setup), sending_host (our IP/host reputation), message, network. A hard rule
  // must be about the recipient or its domain.
  std::string concerns;
  // Matches only a permanent reply: a 5xx basic code and a 5.x.x enhanced code where present
  // (a reply with neither carries its permanence in its text). Every hard rule has it.
  bool permanent = false;
  std::string why;  // documentation only
  int line = 0;     // where it was written (for error messages)
};

struct RuleError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Classification {
  OutcomeClass cls = OutcomeClass::unknown;
  std::string rule_id;
  // The evidence, for `classify --explain`: what the rule matched on and whom it concerns.
  std::string concerns;
  std::string matched_text;  // the phrase the text pattern found ("" when no text criterion)
  std::string why;
};

// The reply text as phrases are matched against it: addresses, URLs, host names and IP
// addresses replaced by a space, so a vendor name inside a URL or a word inside a local part
// is never read as evidence.
std::string text_for_matching(std::string_view reply_text);

class Classifier {
 public:
  // Throws RuleError naming the rule id on a bad class, command, pattern or regex.
  explicit Classifier(const std::vector<RuleSpec>& rules);
  Classification classify(SmtpCommand command, const Reply& reply) const;
  // Every rule that matches, in rule order, at most `max`: the first is the verdict, the rest
  // are the evidence it outranked (for `classify --explain`).
  std::vector<Classification> evidence(SmtpCommand command, const Reply& reply,
                                       size_t max = 16) const;
  size_t size() const { return rules_.size(); }

 private:
  struct Range {
    int lo = -1, hi = -1;  // -1: any
  };
  struct Compiled {
    std::string id;
    OutcomeClass cls;
    std::string concerns, why;
    bool permanent = false;
    std::vector<SmtpCommand> commands;
    std::vector<std::array<int, 3>> codes;  // digit or -1
    std::vector<std::array<Range, 3>> enhanced;
    std::unique_ptr<std::regex> text;
  };
  bool matches(const Compiled& r, SmtpCommand command, const Reply& reply,
               std::optional<std::string>& text, std::string* phrase) const;
  std::vector<Compiled> rules_;
};

// Parses the rule list from YAML text (the shipped defaults, or a rules file). `origin` names
// the file for errors. Throws RuleError with "origin:line: ..." on malformed input.
std::vector<RuleSpec> parse_rules_yaml(std::string_view yaml_text, const std::string& origin);

// The shipped rules (core/rules/default_rules.yaml, compiled in).
const std::vector<RuleSpec>& default_rule_specs();

}  // namespace bouncegate
