// Reply policy: templates for gated recipients and the fixed temporary replies for failures.
#include "core/reply_policy.hpp"

#include "core/lease_text.hpp"

namespace bouncegate {

std::string SmtpReplyText::line() const {
  std::string out = code;
  if (!enhanced.empty()) out += " " + enhanced;
  if (!text.empty()) out += " " + text;
  return out;
}

SmtpReplyText split_reply_line(const std::string& line) {
  SmtpReplyText r;
  r.code = line.substr(0, 3);
  std::string rest = line.size() > 4 ? line.substr(4) : "";
  size_t sp = rest.find(' ');
  std::string first = rest.substr(0, sp);
  if (auto e = parse_enhanced_code(first); e && e->cls == r.code[0] - '0') {
    r.enhanced = first;
    r.text = sp == std::string::npos ? "" : rest.substr(sp + 1);
  } else {
    r.text = rest;
  }
  return r;
}

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

}  // namespace

SmtpReplyText gate_reply(const SuppressionConfig& cfg, const GateDecision& d,
                         const std::string& rcpt) {
  std::string tpl;
  switch (d.result) {
    case GateResult::pass:
      return {"250", "2.1.5", "ok"};
    case GateResult::defer:
      tpl = cfg.defer_reply;
      break;
    case GateResult::unsubscribed:
      tpl = cfg.unsubscribed_reply;
      break;
    case GateResult::reject:
      tpl = (d.entry && d.entry->action == Action::suppress_permanent) ? cfg.complaint_reply
                                                                       : cfg.reject_reply;
      break;
  }
  std::string code = d.entry ? d.entry->code : "";
  int64_t ttl = d.entry ? d.entry->ttl_ms : -1;
  std::string until = ttl >= 0 ? utc_iso(now_ms() + ttl) : "never";
  replace_all(tpl, "{rcpt}", rcpt);
  replace_all(tpl, "{code}", code.empty() ? "no code" : code);
  replace_all(tpl, "{until}", until);
  replace_all(tpl, "{class}", d.entry ? std::string(to_string(d.entry->cls)) : "");
  replace_all(tpl, "{level}", d.entry ? std::to_string(d.entry->level) : "0");
  replace_all(tpl, "{lease}", lease_text(ttl));
  replace_all(tpl, "{list}", d.list);
  // Nothing from the store may break the reply onto a second line.
  for (auto& c : tpl)
    if (c == '\r' || c == '\n') c = ' ';
  return split_reply_line(tpl);
}

SmtpReplyText upstream_failure_reply(UpstreamFault f, const std::string& detail) {
  auto with = [&](std::string base) { return detail.empty() ? base : base + " (" + detail + ")"; };
  switch (f) {
    case UpstreamFault::connect_failed:
      return {"421", "4.4.1", with("upstream unreachable, try again later")};
    case UpstreamFault::tls_failed:
      return {"454", "4.7.0", with("TLS with upstream not available, try again later")};
    case UpstreamFault::auth_failed:
      return {"454", "4.7.0", "upstream authentication failed, try again later"};
    case UpstreamFault::lost_during_data:
      return {"451", "4.4.2", with("upstream connection lost, try again later")};
    case UpstreamFault::timeout:
      return {"451", "4.4.2", with("upstream timed out, try again later")};
    case UpstreamFault::protocol_error:
      return {"451", "4.5.0", with("upstream protocol error, try again later")};
    case UpstreamFault::throttled:
      return {"451", "4.7.0", with("sending rate limit reached, try again later")};
    case UpstreamFault::store_unavailable:
      return split_reply_line(std::string(kDefaultStoreErrorReply));
  }
  return {"451", "4.3.0", "temporary failure"};
}

std::optional<SmtpReplyText> bad_address_reply(const SuppressionConfig& cfg,
                                               const std::string& why) {
  switch (cfg.on_bad_address) {
    case BadAddressMode::tempfail:
      return SmtpReplyText{"451", "4.1.3",
                           "recipient address not understood (" + why + "), try again later"};
    case BadAddressMode::reject:
      return SmtpReplyText{"553", "5.1.3", "recipient address not understood (" + why + ")"};
    case BadAddressMode::accept:
      return std::nullopt;
  }
  return std::nullopt;
}

SmtpReplyText relay_refusal_reply(RelayRefusal r) {
  switch (r) {
    case RelayRefusal::client_not_allowed:
      return {"554", "5.7.1", "relay access denied for this client"};
    case RelayRefusal::too_many_sessions:
      return {"421", "4.3.2", "too many sessions, try again later"};
    case RelayRefusal::shutting_down:
      return {"421", "4.3.2", "service shutting down, try again later"};
    case RelayRefusal::too_many_recipients:
      return {"452", "4.5.3", "too many recipients for this message"};
    case RelayRefusal::message_too_big:
      return {"552", "5.3.4", "message size exceeds fixed limit"};
    case RelayRefusal::line_too_long:
      return {"500", "5.5.2", "line too long"};
    case RelayRefusal::bare_newline_data:
      return {"550", "5.5.2", "message refused: bare CR or LF in message data (RFC 5321 2.3.8)"};
    case RelayRefusal::bare_newline_command:
      return {"500", "5.5.2", "command refused: lines must end with CRLF (RFC 5321 2.3.8)"};
    case RelayRefusal::control_character:
      return {"501", "5.5.2", "command refused: control character in command line"};
    case RelayRefusal::timeout:
      return {"421", "4.4.2", "timeout, closing connection"};
  }
  return {"421", "4.3.0", "refused"};
}

}  // namespace bouncegate
