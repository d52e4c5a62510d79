// SMTP sequence and limit checks of the relay's client side (RFC 5321 4.1.4, 4.5.3).
#include "relay/session_state.hpp"

namespace bouncegate {

std::optional<SmtpReplyText> SessionState::check(const CommandLine& c) const {
  if (c.control_character) return relay_refusal_reply(RelayRefusal::control_character);
  if (c.verb == Verb::unknown) return SmtpReplyText{"500", "5.5.2", "command not recognized"};
  if (!c.error.empty()) return SmtpReplyText{"501", "5.5.4", "syntax error: " + c.error};
  switch (c.verb) {
    case Verb::mail:
      if (!greeted_) return SmtpReplyText{"503", "5.5.1", "send HELO or EHLO first"};
      if (in_mail_) return SmtpReplyText{"503", "5.5.1", "nested MAIL command"};
      if (auto size = c.declared_size(); size && *size > max_size_)
        return relay_refusal_reply(RelayRefusal::message_too_big);
      return std::nullopt;
    case Verb::rcpt:
      if (!in_mail_) return SmtpReplyText{"503", "5.5.1", "need MAIL before RCPT"};
      if (txn_.rcpt_seen >= max_recipients_)
        return relay_refusal_reply(RelayRefusal::too_many_recipients);
      return std::nullopt;
    case Verb::data:
      if (!in_mail_) return SmtpReplyText{"503", "5.5.1", "need MAIL and RCPT before DATA"};
      if (txn_.accepted.empty()) return SmtpReplyText{"554", "5.5.1", "no valid recipients"};
      return std::nullopt;
    case Verb::vrfy:
      return SmtpReplyText{"252", "2.5.2", "cannot verify, send some mail"};
    case Verb::expn:
    case Verb::bdat:
    case Verb::starttls:
    case Verb::auth:
      return SmtpReplyText{"502", "5.5.1", "command not implemented"};
    default:
      return std::nullopt;
  }
}

}  // namespace bouncegate
