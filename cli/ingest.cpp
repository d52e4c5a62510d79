// `bouncegate ingest`: one bounce or complaint mail on stdin (Postfix pipe transport) becomes
// outcomes in the store. Exit codes follow sysexits so Postfix retries what was not recorded.
#include <openssl/sha.h>

#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "core/address.hpp"
#include "core/dsn.hpp"
#include "core/feedback_match.hpp"
#include "core/json.hpp"
#include "core/learn.hpp"
#include "core/log.hpp"
#include "core/mappings.hpp"
#include "core/metrics.hpp"
#include "core/received_reply.hpp"

namespace bouncegate::cli {
namespace {

// Larger than any bounce worth reading; a bigger input is not a bounce (and is not kept).
constexpr size_t kMaxIngestBytes = 20u << 20;

// Reads stdin up to `limit` bytes; false when there was more.
bool read_stdin_limited(std::string& out, size_t limit) {
  char buf[65536];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
    if (out.size() + got > limit) return false;
    out.append(buf, got);
  }
  return true;
}

std::string sha256_hex(const std::string& data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

// What one reported recipient turns into; nullopt (with `why`) when there is nothing to record.
std::optional<OutcomeRecord> outcome_for_recipient(const Config& cfg, const FailedRecipient& r,
                                                   FeedbackKind kind, const std::string& address,
                                                   const EventContext& ec, std::string* why) {
  if (kind == FeedbackKind::arf) {
    std::string text = "feedback report" + (r.feedback_type.empty() ? "" : ": " + r.feedback_type);
    return outcome_for_class(cfg, address, OutcomeClass::complaint, "", text, ec,
                             "arf-" + (r.feedback_type.empty() ? "report" : r.feedback_type));
  }
  // RFC 3464 Action -> class: data (core/rules/mappings.yaml). An unknown action word is read
  // as "failed" would be: through the rules, which decide nothing without a status.
  const StatusMapping* m = shipped_mappings().dsn(r.action);
  if (m && !m->outcome) {
    *why = "action " + r.action + " is not an outcome";
    return std::nullopt;
  }
  if (m && !m->through_rules && !m->never_suppress)
    return outcome_for_class(cfg, address, m->cls, r.status, r.diagnostic, ec, m->rule);
  DsnReply dsn = reply_for_dsn_recipient(r);
  const Reply& reply = dsn.reply;
  const bool never_suppress = m && m->never_suppress;
  if (!reply.valid && !never_suppress) {
    *why = "no status and no diagnostic text";
    return std::nullopt;
  }
  Learned l = learn_from_reply(cfg, address, dsn.command, reply, ec);
  if (never_suppress) {
    // Not a final outcome (delayed): whatever the text says, it is that class and never
    // suppresses.
    OutcomeRecord o =
        outcome_for_class(cfg, address, m->cls, l.record.code, l.record.text, ec, m->rule);
    downgrade_to_record(o);
    return o;
  }
  return l.record;
}

}  // namespace

int cmd_ingest(Context& ctx) {
  if (ctx.args.positional().size() > 1)
    throw UsageError("ingest [--dry-run] [ENVELOPE-RECIPIENT] < message");
  bool dry_run = ctx.args.flag("dry-run");
  const Config& cfg = ctx.cfg();
  log_configure(cfg.logging.json, cfg.logging.level, "bouncegate-ingest");

  std::string raw;
  if (!read_stdin_limited(raw, kMaxIngestBytes)) {
    log_event(LogLevel::error, "", "input refused",
              {{"reason", "larger than " + std::to_string(kMaxIngestBytes) + " bytes"}});
    return kDataErr;
  }
  ParsedFeedback fb = parse_feedback(raw);
  if (fb.kind == FeedbackKind::not_a_message) {
    log_event(LogLevel::error, "", "input refused: not a mail message", {{"reason", fb.reason}});
    return kDataErr;
  }
  if (fb.kind == FeedbackKind::ignored) {
    log_event(LogLevel::info, "", "message ignored", {{"reason", fb.reason}});
    return kOk;
  }

  // The envelope recipient Postfix passes (${recipient}) may be a VERP return path; it names
  // the bounced recipient when the report itself does not.
  std::string verp;
  if (!ctx.args.positional().empty()) verp = decode_verp(ctx.args.positional()[0]).value_or("");

  const std::string message_digest = sha256_hex(raw).substr(0, 32);
  EventContext ec;
  ec.source = fb.kind == FeedbackKind::arf ? Source::arf : Source::dsn;
  ec.message_id = fb.original_message_id;
  std::map<std::string, std::string> relayed;  // bg:mid: record of the original message
  try {
    if (!dry_run) {
      // Fail before the first write when the store is down: Postfix retries the whole message.
      ctx.store().ping();
    }
    if (!ec.message_id.empty()) {
      try {
        relayed = ctx.store().lookup_message(ec.message_id);
      } catch (const StoreError&) {
        if (!dry_run) throw;  // a dry run without a store judges every report unmatched
      }
      if (auto it = relayed.find("queue_id"); it != relayed.end()) ec.queue_id = it->second;
    }
    if (fb.recipients.empty() && !verp.empty()) {
      FailedRecipient only;
      only.recipient = verp;
      fb.recipients.push_back(only);
    }
    if (fb.recipients.empty())
      log_event(LogLevel::notice, ec.queue_id, "message ignored",
                {{"kind", to_string(fb.kind)}, {"reason", "no recipient found"}});
    for (const FailedRecipient& r : fb.recipients) {
      std::string raw_rcpt = !r.recipient.empty() ? r.recipient : r.original_recipient;
      if (raw_rcpt.empty()) raw_rcpt = verp;
      std::string why;
      auto addr = normalize_address(raw_rcpt, &why);
      if (!addr) {
        log_event(LogLevel::warning, ec.queue_id, "recipient skipped",
                  {{"rcpt", raw_rcpt}, {"reason", why}});
        continue;
      }
      auto o = outcome_for_recipient(cfg, r, fb.kind, addr->address, ec, &why);
      if (!o) {
        log_event(LogLevel::info, ec.queue_id, "recipient ignored",
                  {{"rcpt", addr->address}, {"action", r.action}, {"reason", why}});
        continue;
      }
      // Forged feedback never suppresses: only a report tied to mail relayed here may act.
      bool listed = false;
      if (lists_recipients(relayed)) {
        try {
          listed = ctx.store().message_had_recipient(ec.message_id, o->address);
        } catch (const StoreError&) {
          if (!dry_run) throw;
        }
      }
      FeedbackMatch match = match_feedback(relayed, listed);
      o->verified = match.verified ? "yes" : "no";
      if (!match.verified) {
        Metrics::instance().inc("bouncegate_feedback_unverified_total",
                                {{"kind", std::string(to_string(fb.kind))}});
        if (cfg.feedback.require_match && downgrade_to_record(*o))
          log_event(LogLevel::warning, ec.queue_id,
                    "report not tied to relayed mail: recorded only",
                    {{"rcpt", o->address},
                     {"class", std::string(to_string(o->cls))},
                     {"message_id", ec.message_id},
                     {"evidence", match.evidence}});
      }
      if (dry_run) {
        // The evidence, as `classify --explain` shows it (feedback reports have no reply).
        std::vector<Classification> evidence(1);
        if (fb.kind != FeedbackKind::arf && r.action != "delayed") {
          DsnReply dsn = reply_for_dsn_recipient(r);
          evidence = cfg.classifier->evidence(dsn.command, dsn.reply);
        }
        const Classification& why_class = evidence.front();
        std::cout << JsonObject()
                         .add("concerns", why_class.concerns)
                         .add("phrase", why_class.matched_text)
                         .add("why", why_class.why)
                         .add("address", o->address)
                         .add("class", to_string(o->cls))
                         .add("action", to_string(o->action))
                         .add("code", o->code)
                         .add("text", o->text)
                         .add("rule", o->rule)
                         .add("source", to_string(o->ctx.source))
                         .add("message_id", o->ctx.message_id)
                         .add("verified", o->verified)
                         .add("evidence", match.evidence)
                         .add_raw("outranked", outranked_as_json(evidence))
                         .str()
                  << "\n";
      } else {
        // A retry after a partial failure (or the same report delivered twice) records each
        // recipient once: the mark is set by the same script call that records.
        o->dedupe_id = "ingest:" + message_digest + ":" + o->address;
        o->dedupe_ttl = cfg.suppression.message_id_ttl;
        if (ctx.store().record(*o).duplicate) {
          log_event(LogLevel::info, ec.queue_id, "recipient already recorded from this report",
                    {{"rcpt", o->address}});
          continue;
        }
      }
      log_event(LogLevel::info, ec.queue_id, dry_run ? "would record" : "recorded",
                {{"rcpt", o->address},
                 {"class", std::string(to_string(o->cls))},
                 {"action", std::string(to_string(o->action))},
                 {"code", o->code},
                 {"source", std::string(to_string(o->ctx.source))},
                 {"rule", o->rule},
                 {"message_id", o->ctx.message_id},
                 {"verified", o->verified}});
    }
  } catch (const StoreError& e) {
    // Not journaled: Postfix keeps the bounce in its queue and runs us again later.
    log_event(LogLevel::error, ec.queue_id, "store unavailable, deferring", {{"error", e.what()}});
    return kTempFail;
  } catch (const std::exception& e) {
    // Anything unexpected past parsing is our trouble, not the sender's: keep the message
    // queued (75) rather than let Postfix return it as undeliverable.
    log_event(LogLevel::error, ec.queue_id, "unexpected failure, deferring", {{"error", e.what()}});
    return kTempFail;
  }
  return kOk;
}

}  // namespace bouncegate::cli
