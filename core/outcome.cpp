// Names of outcome classes, actions, commands and sources as they appear in YAML, Redis and logs.
#include "core/outcome.hpp"

#include <array>
#include <cctype>
#include <string>

namespace bouncegate {
namespace {

constexpr std::array<std::string_view, kOutcomeClassCount> kClassNames = {
    "hard",      "soft",   "reputation", "auth",        "rate_limit",
    "content",   "sender", "complaint",  "unsubscribe", "upstream_suppressed",
    "delivered", "unknown"};
constexpr std::array<std::string_view, 6> kActionNames = {
    "suppress", "suppress_permanent", "defer", "reject", "record", "ignore"};
constexpr std::array<std::string_view, 11> kCommandNames = {
    "any",  "CONNECT", "EHLO",     "STARTTLS", "AUTH", "MAIL",
    "RCPT", "DATA",    "DATA-END", "RSET",     "QUIT"};
constexpr std::array<std::string_view, 8> kSourceNames = {"relay", "dsn", "acs",    "arf",
                                                          "web",   "cli", "milter", "api"};

template <typename E, size_t N>
std::optional<E> find_name(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

}  // namespace

std::string_view to_string(OutcomeClass c) {
  return kClassNames[static_cast<size_t>(c)];
}
std::string_view to_string(Action a) {
  return kActionNames[static_cast<size_t>(a)];
}
std::string_view to_string(SmtpCommand c) {
  return kCommandNames[static_cast<size_t>(c)];
}
std::string_view to_string(Source s) {
  return kSourceNames[static_cast<size_t>(s)];
}

std::optional<OutcomeClass> outcome_class_from(std::string_view s) {
  return find_name<OutcomeClass>(kClassNames, s);
}
std::optional<Action> action_from(std::string_view s) {
  return find_name<Action>(kActionNames, s);
}
std::optional<Source> source_from(std::string_view s) {
  return find_name<Source>(kSourceNames, s);
}

std::optional<SmtpCommand> smtp_command_from(std::string_view s) {
  std::string up;
  for (char c : s)
    up += static_cast<char>(c == '_' ? '-' : std::toupper(static_cast<unsigned char>(c)));
  if (up == "ANY" || up == "*") return SmtpCommand::any;
  if (up == "HELO" || up == "LHLO") return SmtpCommand::ehlo;
  if (up == "DATA-END" || up == "EOM" || up == "DOT") return SmtpCommand::data_end;
  return find_name<SmtpCommand>(kCommandNames, up);
}

bool counts_as_block(OutcomeClass c) {
  return c == OutcomeClass::reputation || c == OutcomeClass::sender || c == OutcomeClass::content;
}

}  // namespace bouncegate
