// From an observed reply to a store record: classify with the configured rules, then look up
// the class's configured action. Relay, ingest, web and CLI all learn through here.
#pragma once

#include <string>

#include "core/config.hpp"
#include "core/dsn.hpp"
#include "core/received_reply.hpp"
#include "core/store_records.hpp"

namespace bouncegate {

struct Learned {
  OutcomeRecord record;
  Classification classification;
};

// `address` must be normalised. The stored code is "550 5.1.1" (basic and enhanced).
Learned learn_from_reply(const Config& cfg, const std::string& address, SmtpCommand command,
                         const Reply& reply, const EventContext& ctx);

// The reply a DSN reports for one recipient, and the command that drew it when the diagnostic
// says ("in reply to RCPT TO command", "after MAIL FROM:", "after initial connection"). A
// failed recipient without a Status is permanent by RFC 3464's definition of "failed"
// (5.0.0), a delayed one transient (4.0.0).
struct DsnReply {
  Reply reply;
  SmtpCommand command = SmtpCommand::any;
};
DsnReply reply_for_dsn_recipient(const FailedRecipient& r);

// The SMTP command a bounce transcript names as the one the remote server answered.
SmtpCommand command_named_in(std::string_view diagnostic);

// An outcome whose class is already known (ARF complaint, ACS status, CLI add).
OutcomeRecord outcome_for_class(const Config& cfg, const std::string& address, OutcomeClass cls,
                                const std::string& code, const std::string& text,
                                const EventContext& ctx, const std::string& rule);

// An operator's `add` or an imported row: the class's configured action decides, as for every
// outcome (complaint: permanent; unsubscribe: refused for the list; soft: defer), except that an
// entry an operator asked for is never merely recorded: record or ignore becomes a lease.
OutcomeRecord operator_entry(const Config& cfg, const std::string& address, OutcomeClass cls,
                             RecordOrigin origin);

// An outcome that must not act (a delayed DSN, a report not tied to relayed mail, a reply about
// the sending side) keeps its evidence: its action becomes record (ignore stays ignore).
// Returns true when the action changed.
bool downgrade_to_record(OutcomeRecord& o);

// Gives an outcome a random idempotency key (checked inside the record script) when it has
// none: a write that timed out but was applied, then retried or replayed from the journal, is
// counted once. Kept for kRecordIdTtl, longer than any journal is expected to wait.
inline constexpr Millis kRecordIdTtl{std::chrono::hours(72)};
void assign_record_id(OutcomeRecord& o);

}  // namespace bouncegate
