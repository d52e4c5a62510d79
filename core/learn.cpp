// Classification plus configured action: the single path from an observed reply to a record.
#include "core/learn.hpp"

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
  return l;
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

}  // namespace bouncegate
