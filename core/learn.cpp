// Classification plus configured action: the single path from an observed reply to a record.
#include "core/learn.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>

namespace bouncegate {

Learned learn_from_reply(const Config& cfg, const std::string& address, SmtpCommand command,
                         const Reply& reply, const EventContext& ctx) {
  Learned l;
  l.classification = cfg.classifier->classify(command, reply);
  std::string code = reply.code ? std::to_string(reply.code) : "";
  if (reply.enhanced) code += (code.empty() ? "" : " ") + reply.enhanced->str();
  // The text keeps the whole reply as received (code included): it is the evidence an
  // operator forwards to the provider.
  std::string full = reply.code ? std::to_string(reply.code) + " " + reply.text() : reply.text();
  l.record = outcome_for_class(cfg, address, l.classification.cls, code, full, ctx,
                               l.classification.rule_id);
  l.record.about_mailbox =
      l.classification.concerns == "recipient" || l.classification.concerns == "recipient_domain";
  return l;
}

SmtpCommand command_named_in(std::string_view diagnostic) {
  std::string t;
  t.reserve(diagnostic.size());
  for (char c : diagnostic) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Postfix: "(in reply to X command)"; Exim: "after X"; Sendmail: ">>> X" / "did not like our X";
  // qmail: "most progress was X response". The first phrase found decides.
  struct Phrase {
    const char* text;
    SmtpCommand command;
  };
  static const Phrase phrases[] = {
      {"in reply to rcpt to", SmtpCommand::rcpt},
      {"after rcpt to", SmtpCommand::rcpt},
      {"our rcpt to", SmtpCommand::rcpt},
      {"rcpt to response", SmtpCommand::rcpt},
      {"error following rcpt", SmtpCommand::rcpt},
      {"in reply to end of data", SmtpCommand::data_end},
      {"after end of data", SmtpCommand::data_end},
      {"in reply to mail from", SmtpCommand::mail},
      {"after mail from", SmtpCommand::mail},
      {"our mail from", SmtpCommand::mail},
      {"in reply to data", SmtpCommand::data},
      {"after data", SmtpCommand::data},
      {"after initial connection", SmtpCommand::connect},
      {"while talking to", SmtpCommand::any},
      {"in reply to helo", SmtpCommand::ehlo},
      {"in reply to ehlo", SmtpCommand::ehlo},
      {"after ehlo", SmtpCommand::ehlo},
      {"after helo", SmtpCommand::ehlo},
      // Sendmail transcripts: ">>> RCPT To:<x>" / "MAIL FROM:<x> <<< 550 ...".
      {"rcpt to:<", SmtpCommand::rcpt},
      {"mail from:<", SmtpCommand::mail},
  };
  size_t best = std::string::npos;
  SmtpCommand found = SmtpCommand::any;
  for (const auto& p : phrases) {
    size_t at = t.find(p.text);
    if (at != std::string::npos && at < best) {
      best = at;
      found = p.command;
    }
  }
  return found;
}

namespace {

// Session transcripts mark what we sent (Sendmail ">>>", MDaemon "-->") and what the server
// answered ("<<<", "<--"). The server's first 4xx/5xx answer is the evidence, with its
// continuation lines; the command we sent just before it is the stage. Everything else in a
// transcript (our own MAIL FROM, the EHLO keywords, earlier 250s) says nothing about the
// recipient.
struct TranscriptFailure {
  std::string reply;
  SmtpCommand command = SmtpCommand::any;
};

size_t next_marker(std::string_view t, size_t from) {
  size_t best = std::string_view::npos;
  for (std::string_view m : {"<<<", "<--", ">>>", "-->"}) best = std::min(best, t.find(m, from));
  return best;
}

bool is_reply_marker(std::string_view t, size_t at) {
  return t.compare(at, 3, "<<<") == 0 || t.compare(at, 3, "<--") == 0;
}

size_t skip_spaces(std::string_view t, size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n')) ++i;
  return i;
}

bool failure_code_at(std::string_view t, size_t i) {
  return i + 3 < t.size() && (t[i] == '4' || t[i] == '5') &&
         std::isdigit((unsigned char)t[i + 1]) && std::isdigit((unsigned char)t[i + 2]) &&
         (t[i + 3] == ' ' || t[i + 3] == '-');
}

SmtpCommand command_echoed(std::string_view echo) {
  std::string c;
  for (char ch : echo.substr(0, 12)) c += static_cast<char>(std::tolower((unsigned char)ch));
  if (c.rfind("rcpt", 0) == 0) return SmtpCommand::rcpt;
  if (c.rfind("mail", 0) == 0) return SmtpCommand::mail;
  // With PIPELINING the refusals of RCPT commands arrive after DATA was sent: a reply read
  // after ">>> DATA" may answer either, so the stage is not known.
  if (c.rfind("data", 0) == 0) return SmtpCommand::any;
  if (c.rfind("ehlo", 0) == 0 || c.rfind("helo", 0) == 0) return SmtpCommand::ehlo;
  if (!c.empty() && c[0] == '.') return SmtpCommand::data_end;
  return SmtpCommand::any;
}

std::optional<TranscriptFailure> transcript_failure(std::string_view t) {
  SmtpCommand last = SmtpCommand::any;
  for (size_t at = next_marker(t, 0); at != std::string_view::npos; at = next_marker(t, at + 3)) {
    size_t body = skip_spaces(t, at + 3);
    if (!is_reply_marker(t, at)) {
      last = command_echoed(t.substr(body));
      continue;
    }
    if (!failure_code_at(t, body)) continue;
    TranscriptFailure f;
    f.command = last;
    const std::string_view code = t.substr(body, 3);
    size_t end = next_marker(t, body);
    f.reply = std::string(t.substr(body, end == std::string_view::npos ? end : end - body));
    // Continuation lines of the same multi-line reply ("<<< 550-..." then "<<< 550 ...").
    while (end != std::string_view::npos && is_reply_marker(t, end)) {
      size_t b = skip_spaces(t, end + 3);
      if (t.compare(b, 3, code) != 0) break;
      end = next_marker(t, b);
      f.reply += "\n";
      f.reply += t.substr(b, end == std::string_view::npos ? end : end - b);
    }
    return f;
  }
  return std::nullopt;
}

}  // namespace

DsnReply reply_for_dsn_recipient(const FailedRecipient& r) {
  std::string status = r.status;
  if (status.empty()) {
    if (r.action == "failed")
      status = "5.0.0";
    else if (r.action == "delayed")
      status = "4.0.0";
  }
  // A transcript decides only when no reply comes before its first marker: a recipient's own
  // line ("554 <a@b>... 550 Host unknown") outranks a later conversation with another host.
  const size_t first = next_marker(r.diagnostic, 0);
  if (first != std::string::npos &&
      !find_embedded_reply(std::string_view(r.diagnostic).substr(0, first)))
    if (auto f = transcript_failure(r.diagnostic))
      return {reply_from_status(status, f->reply), f->command};
  return {reply_from_status(status, r.diagnostic), command_named_in(r.diagnostic)};
}

OutcomeRecord outcome_for_class(const Config& cfg, const std::string& address, OutcomeClass cls,
                                const std::string& code, const std::string& text,
                                const EventContext& ctx, const std::string& rule) {
  OutcomeRecord r;
  r.address = address;
  r.cls = cls;
  r.action = cfg.suppression.action_for(cls);
  r.code = code;
  r.text = text;
  r.rule = rule;
  r.ctx = ctx;
  return r;
}

OutcomeRecord operator_entry(const Config& cfg, const std::string& address, OutcomeClass cls,
                             RecordOrigin origin) {
  EventContext ctx;
  ctx.source = Source::cli;
  OutcomeRecord r = outcome_for_class(cfg, address, cls, "", "", ctx,
                                      origin == RecordOrigin::import ? "import" : "manual");
  if (r.action == Action::record || r.action == Action::ignore) r.action = Action::suppress;
  r.origin = origin;
  return r;
}

bool downgrade_to_record(OutcomeRecord& o) {
  o.about_mailbox = false;  // an outcome that must not act must not escalate either
  if (o.action == Action::record || o.action == Action::ignore) return false;
  o.action = Action::record;
  return true;
}

void assign_record_id(OutcomeRecord& o) {
  if (!o.dedupe_id.empty()) return;
  unsigned char r[16];
  if (RAND_bytes(r, sizeof r) != 1) throw std::runtime_error("no randomness for a record id");
  static const char* hex = "0123456789abcdef";
  std::string id = "rec:";
  for (unsigned char c : r) {
    id += hex[c >> 4];
    id += hex[c & 15];
  }
  o.dedupe_id = id;
  o.dedupe_ttl = kRecordIdTtl;
}

}  // namespace bouncegate
