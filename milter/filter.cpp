// bouncegate-milter callbacks: RCPT gate, per-message and per-connection state, store failure
// policy and the List-Unsubscribe headers added at end of message.
#include "milter/filter.hpp"

#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "core/address.hpp"
#include "core/lease_text.hpp"
#include "core/local_filter.hpp"
#include "core/log.hpp"
#include "core/policy.hpp"
#include "core/reply_policy.hpp"
#include "core/store_failure.hpp"
#include "milter/gate_log.hpp"

namespace bouncegate::milter {
namespace {

std::mutex g_runtime_mu;
std::shared_ptr<const Runtime> g_runtime;

struct Recipient {
  std::string raw;      // as given in RCPT TO (what smfi_delrcpt must name)
  std::string address;  // normalised
};

// One transaction (MAIL .. EOM/ABORT). Replaced whole, never patched, so nothing survives.
struct MessageState {
  std::string queue_id;
  std::string sender;
  const UnsubscribeList* sender_list = nullptr;  // points into the connection's runtime
  std::vector<Recipient> recipients;             // accepted (or shadow-accepted) ones
  std::vector<std::string> shadow_headers;
  std::string bypass;  // the sender policy's classes that pass (core/policy.hpp)
  std::string list_id_header;
  int list_unsubscribe_headers = 0;
  int list_unsubscribe_post_headers = 0;
};

// One SMTP connection; holds the runtime it started with across a reload.
struct ConnectionState {
  std::shared_ptr<const Runtime> rt;
  MessageState msg;
};

ConnectionState* conn_of(SMFICTX* ctx) {
  return static_cast<ConnectionState*>(smfi_getpriv(ctx));
}

ConnectionState* ensure_conn(SMFICTX* ctx) {
  auto* c = conn_of(ctx);
  if (!c) {
    c = new ConnectionState{current_runtime(), {}};
    smfi_setpriv(ctx, c);
  }
  return c;
}

// The queue id once Postfix has one (after the first accepted RCPT by default), else NOQUEUE.
void refresh_queue_id(SMFICTX* ctx, MessageState& m) {
  if (const char* i = smfi_getsymval(ctx, const_cast<char*>("i")); i && *i) m.queue_id = i;
}
const std::string& log_id(const MessageState& m) {
  static const std::string none = "NOQUEUE";
  return m.queue_id.empty() ? none : m.queue_id;
}

sfsistat answer(SMFICTX* ctx, const SmtpReplyText& r) {
  smfi_setreply(ctx, const_cast<char*>(r.code.c_str()),
                r.enhanced.empty() ? nullptr : const_cast<char*>(r.enhanced.c_str()),
                const_cast<char*>(r.text.c_str()));
  return r.code[0] == '4' ? SMFIS_TEMPFAIL : SMFIS_REJECT;
}

// The one place a store failure becomes a milter answer (milter.on_store_error).
sfsistat store_failed(SMFICTX* ctx, const ConnectionState& c, const std::string& rcpt,
                      const std::string& what) {
  const MilterConfig& mc = c.rt->config->milter;
  StoreFailureVerdict v = store_failure_verdict(mc.on_store_error, mc.shadow, mc.store_error_reply);
  note_store_failed(log_id(c.msg), what, v.mode);
  if (!v.refuse) {
    log_event(LogLevel::debug, log_id(c.msg), "rcpt=<" + rcpt + "> decision=accept",
              {{"reason", "store unavailable"}});
    return SMFIS_CONTINUE;
  }
  log_event(LogLevel::debug, log_id(c.msg), "rcpt=<" + rcpt + "> decision=tempfail",
            {{"reason", "store unavailable"}, {"reply", v.reply.line()}});
  return answer(ctx, v.reply);
}

void log_decision(const MessageState& m, const std::string& rcpt, std::string_view decision,
                  const GateDecision& d, const std::string& reply = "") {
  log_gate_decision(log_id(m), rcpt, decision, d, reply);
}

// --- callbacks ---

sfsistat on_negotiate(SMFICTX* ctx, unsigned long actions, unsigned long steps,
                      unsigned long /*f2*/, unsigned long /*f3*/, unsigned long* want_actions,
                      unsigned long* want_steps, unsigned long* pf2, unsigned long* pf3) {
  auto* c = ensure_conn(ctx);
  const UnsubscribeConfig& uc = c->rt->config->unsubscribe;
  *want_actions = actions & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT | SMFIF_SETSYMLIST);
  // DATA is not skipped and headers are answered: the MTA sends the macros of a skipped or
  // unanswered step anyway, and with Nagle on its side (Postfix) the next frame then waits for
  // our delayed ACK, 40 ms per message. An answered step costs one loopback round trip.
  unsigned long skip =
      SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NOEOH;
  // Headers are needed only to find List-Id and existing List-Unsubscribe fields.
  if (uc.lists.empty()) skip |= SMFIP_NOHDRS;
  *want_steps = steps & skip;
  *pf2 = 0;
  *pf3 = 0;
  if (actions & SMFIF_SETSYMLIST) {
    smfi_setsymlist(ctx, SMFIM_ENVFROM, const_cast<char*>("i"));
    smfi_setsymlist(ctx, SMFIM_ENVRCPT, const_cast<char*>("i"));
    smfi_setsymlist(ctx, SMFIM_EOM, const_cast<char*>("i"));
  }
  return SMFIS_CONTINUE;
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv) {
  auto* c = ensure_conn(ctx);
  c->msg = MessageState{};
  refresh_queue_id(ctx, c->msg);
  if (argv && argv[0])
    if (auto a = normalize_address(argv[0])) c->msg.sender = a->address;
  if (!c->msg.sender.empty())
    c->msg.sender_list = list_for_sender(c->rt->config->unsubscribe, c->msg.sender);
  c->msg.bypass = gate_bypass(
      policy_for(c->rt->config->policies,
                 argv && argv[0] ? policy_sender(argv[0], c->msg.sender) : std::string(),
                 c->msg.sender_list ? c->msg.sender_list->id : ""));
  return SMFIS_CONTINUE;
}

sfsistat on_envrcpt(SMFICTX* ctx, char** argv) {
  auto* c = ensure_conn(ctx);
  MessageState& m = c->msg;
  refresh_queue_id(ctx, m);
  if (!argv || !argv[0]) return SMFIS_CONTINUE;
  std::string why;
  auto a = normalize_address(argv[0], &why);
  const Config& cfg = *c->rt->config;
  if (!a) {
    // Not a mailbox bouncegate can key on: never a silent pass (suppression.on_bad_address).
    auto r = cfg.milter.gate && !cfg.milter.shadow ? bad_address_reply(cfg.suppression, why)
                                                   : std::nullopt;
    log_event(LogLevel::warning, log_id(m), "rcpt=" + log_quote(argv[0]) + " not understood",
              {{"decision", r ? r->code : std::string("accept")}, {"reason", why}});
    return r ? answer(ctx, *r) : SMFIS_CONTINUE;
  }
  if (!cfg.milter.gate) {
    m.recipients.push_back({argv[0], a->address});
    return SMFIS_CONTINUE;
  }
  EventContext ec;
  ec.queue_id = m.queue_id;
  ec.source = Source::milter;
  const std::string list = m.sender_list ? m.sender_list->id : "";
  GateDecision d;
  try {
    d = c->rt->store->gate(a->address, list, ec, cfg.milter.shadow, GateScope::all, m.bypass);
  } catch (const std::exception& e) {  // StoreError, or a reply the store could not parse
    sfsistat s = store_failed(ctx, *c, a->address, e.what());
    if (s == SMFIS_CONTINUE) m.recipients.push_back({argv[0], a->address});
    return s;
  }
  note_store_answered();
  if (d.result == GateResult::pass) {
    log_decision(m, a->address, "pass", d);
    m.recipients.push_back({argv[0], a->address});
    return SMFIS_CONTINUE;
  }
  if (cfg.milter.shadow) {
    std::string cls = d.result == GateResult::unsubscribed ? "unsubscribe"
                      : d.entry                            ? std::string(to_string(d.entry->cls))
                                                           : "unknown";
    log_decision(m, a->address, "would-" + std::string(to_string(d.result)), d);
    m.shadow_headers.push_back("would-reject <" + a->address + "> " + cls);
    m.recipients.push_back({argv[0], a->address});
    return SMFIS_CONTINUE;
  }
  SmtpReplyText reply = gate_reply(cfg.suppression, d, a->address);
  log_decision(m, a->address, to_string(d.result), d, reply.line());
  return answer(ctx, reply);
}

// Answered only so that the MTA's DATA macros get a reply (see on_negotiate).
sfsistat on_data(SMFICTX*) {
  return SMFIS_CONTINUE;
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) {
  auto* c = conn_of(ctx);
  if (!c || !name) return SMFIS_CONTINUE;
  if (strcasecmp(name, "List-Id") == 0 && value) c->msg.list_id_header = value;
  if (strcasecmp(name, "List-Unsubscribe") == 0) ++c->msg.list_unsubscribe_headers;
  if (strcasecmp(name, "List-Unsubscribe-Post") == 0) ++c->msg.list_unsubscribe_post_headers;
  return SMFIS_CONTINUE;
}

// Sets header `name` to `value`: replaces the first existing field, deletes further ones.
void put_header(SMFICTX* ctx, const char* name, const std::string& value, int existing) {
  if (existing == 0) {
    smfi_addheader(ctx, const_cast<char*>(name), const_cast<char*>(value.c_str()));
    return;
  }
  smfi_chgheader(ctx, const_cast<char*>(name), 1, const_cast<char*>(value.c_str()));
  for (int i = existing; i >= 2; --i) smfi_chgheader(ctx, const_cast<char*>(name), i, nullptr);
}

// Lists matched only by List-Id: the RCPT gate could not know the list, so unsubscribed
// recipients are removed here, by the same gate script (scope unsubscribe), which writes the
// refusal to the event stream. Returns SMFIS_CONTINUE when the message goes on.
sfsistat drop_unsubscribed(SMFICTX* ctx, ConnectionState& c, const UnsubscribeList& list) {
  MessageState& m = c.msg;
  std::vector<Recipient> kept;
  std::optional<GateDecision> dropped;
  std::string dropped_rcpt;
  const bool shadow = c.rt->config->milter.shadow;
  const std::string bypass = gate_bypass(policy_for(c.rt->config->policies, m.sender, list.id));
  EventContext ec;
  ec.queue_id = m.queue_id;
  ec.source = Source::milter;
  for (const auto& r : m.recipients) {
    GateDecision d;
    try {
      d = c.rt->store->gate(r.address, list.id, ec, shadow, GateScope::unsubscribe, bypass);
    } catch (const std::exception& e) {  // StoreError, or a reply the store could not parse
      sfsistat s = store_failed(ctx, c, r.address, e.what());
      if (s != SMFIS_CONTINUE) return s;
      kept.push_back(r);
      continue;
    }
    note_store_answered();
    if (d.result != GateResult::unsubscribed) {
      kept.push_back(r);
      continue;
    }
    if (shadow) {
      log_decision(m, r.address, "would-delrcpt", d);
      m.shadow_headers.push_back("would-reject <" + r.address + "> unsubscribe");
      kept.push_back(r);
      continue;
    }
    log_decision(m, r.address, "delrcpt", d);
    smfi_delrcpt(ctx, const_cast<char*>(r.raw.c_str()));
    dropped = d;
    dropped_rcpt = r.address;
  }
  m.recipients = std::move(kept);
  // Nobody left to deliver to: refuse the message with the unsubscribed reply.
  if (m.recipients.empty() && dropped)
    return answer(ctx, gate_reply(c.rt->config->suppression, *dropped, dropped_rcpt));
  return SMFIS_CONTINUE;
}

void add_list_unsubscribe(SMFICTX* ctx, ConnectionState& c, const UnsubscribeList& list) {
  MessageState& m = c.msg;
  const UnsubscribeConfig& uc = c.rt->config->unsubscribe;
  auto skip = [&](const char* why) {
    log_event(LogLevel::info, log_id(m), "list-unsubscribe=skipped",
              {{"list", list.id}, {"reason", why}, {"rcpts", std::to_string(m.recipients.size())}});
  };
  if (m.recipients.size() != 1) return skip("recipients");
  if (m.list_unsubscribe_headers > 0 && !uc.replace_existing) return skip("existing header kept");
  const Recipient& r = m.recipients.front();
  std::string token;
  try {
    token = c.rt->keys.seal(list.id, r.address, now_ms() / 1000);
  } catch (const TokenError& e) {
    log_event(LogLevel::error, log_id(m), "list-unsubscribe=failed",
              {{"list", list.id}, {"error", e.what()}});
    return;
  }
  put_header(ctx, "List-Unsubscribe", build_list_unsubscribe(uc, token),
             m.list_unsubscribe_headers);
  put_header(ctx, "List-Unsubscribe-Post", kListUnsubscribePost, m.list_unsubscribe_post_headers);
  log_event(LogLevel::info, log_id(m),
            m.list_unsubscribe_headers > 0 ? "list-unsubscribe=replaced" : "list-unsubscribe=added",
            {{"list", list.id}, {"rcpt", "<" + r.address + ">"}});
}

sfsistat on_eom(SMFICTX* ctx) {
  auto* c = conn_of(ctx);
  if (!c) return SMFIS_CONTINUE;
  MessageState& m = c->msg;
  refresh_queue_id(ctx, m);
  const UnsubscribeConfig& uc = c->rt->config->unsubscribe;
  const UnsubscribeList* list = m.sender_list;
  sfsistat result = SMFIS_CONTINUE;
  if (!list && !m.list_id_header.empty()) {
    list = list_for_list_id(uc, m.list_id_header);
    if (list) result = drop_unsubscribed(ctx, *c, *list);
  }
  if (result == SMFIS_CONTINUE) {
    if (list) add_list_unsubscribe(ctx, *c, *list);
    // A shadow header names a recipient: it goes only into a message whose one recipient is
    // that recipient, never into a copy that other recipients read.
    if (m.recipients.size() == 1 && m.shadow_headers.size() == 1) {
      smfi_addheader(ctx, const_cast<char*>("X-Bouncegate-Shadow"),
                     const_cast<char*>(m.shadow_headers.front().c_str()));
    } else if (!m.shadow_headers.empty()) {
      log_event(LogLevel::info, log_id(m), "shadow header skipped",
                {{"reason", "recipients"}, {"rcpts", std::to_string(m.recipients.size())}});
    }
  }
  c->msg = MessageState{};
  return result;
}

sfsistat on_abort(SMFICTX* ctx) {
  if (auto* c = conn_of(ctx)) c->msg = MessageState{};
  return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) {
  delete conn_of(ctx);
  smfi_setpriv(ctx, nullptr);
  return SMFIS_CONTINUE;
}

}  // namespace

std::shared_ptr<const Runtime> build_runtime(const std::string& config_path) {
  auto rt = std::make_shared<Runtime>();
  rt->config = load_config(config_path);
  rt->keys = TokenKeyring::load(rt->config->unsubscribe.key_files);
  rt->store = std::make_unique<SuppressionStore>(rt->config->redis, rt->config->suppression);
  rt->store->use_local_filter(LocalFilter::start_if_enabled(*rt->config));
  return rt;
}

void install_runtime(std::shared_ptr<const Runtime> rt) {
  std::lock_guard lock(g_runtime_mu);
  g_runtime = std::move(rt);
}

std::shared_ptr<const Runtime> current_runtime() {
  std::lock_guard lock(g_runtime_mu);
  return g_runtime;
}

smfiDesc filter_description() {
  smfiDesc d{};
  d.xxfi_name = const_cast<char*>("bouncegate");
  d.xxfi_version = SMFI_VERSION;
  d.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT | SMFIF_SETSYMLIST;
  d.xxfi_envfrom = on_envfrom;
  d.xxfi_envrcpt = on_envrcpt;
  d.xxfi_data = on_data;
  d.xxfi_header = on_header;
  d.xxfi_eom = on_eom;
  d.xxfi_abort = on_abort;
  d.xxfi_close = on_close;
  d.xxfi_negotiate = on_negotiate;
  return d;
}

}  // namespace bouncegate::milter
