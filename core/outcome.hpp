// Outcome classes, actions and SMTP commands: the vocabulary shared by every component.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bouncegate {

enum class OutcomeClass {
  hard,
  soft,
  reputation,
  auth,
  rate_limit,
  content,
  sender,
  complaint,
  unsubscribe,
  upstream_suppressed,
  delivered,
  unknown,
};
inline constexpr int kOutcomeClassCount = 12;

enum class Action {
  suppress,            // progressive lease, refuse at RCPT
  suppress_permanent,  // no expiry
  defer,               // progressive lease, 450 at RCPT
  reject,              // unsubscribe: refuse for that list, no expiry
  record,              // event and counters only
  ignore,              // nothing at all
};

enum class SmtpCommand {
  any,
  connect,
  ehlo,
  starttls,
  auth,
  mail,
  rcpt,
  data,
  data_end,
  rset,
  quit
};

std::string_view to_string(OutcomeClass c);
std::string_view to_string(Action a);
std::string_view to_string(SmtpCommand c);
std::optional<OutcomeClass> outcome_class_from(std::string_view s);
std::optional<Action> action_from(std::string_view s);
// A block against the sender, not a fault of the recipient: reputation, sender, content. These
// are what block rates count and what a provider support case is about.
bool counts_as_block(OutcomeClass c);
// Accepts CONNECT, EHLO, HELO, STARTTLS, AUTH, MAIL, RCPT, DATA, DATA-END (or DATA_END), any.
std::optional<SmtpCommand> smtp_command_from(std::string_view s);

// Where an outcome was learned.
enum class Source { relay, dsn, acs, arf, web, cli, milter, api };
std::string_view to_string(Source s);
std::optional<Source> source_from(std::string_view s);

}  // namespace bouncegate
