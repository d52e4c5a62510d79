// The verbs on one address: record, gate, show, list, add, remove, resubscribe. Adds go
// through the same class -> action decision as every other outcome (core/learn).
#include <algorithm>
#include <iostream>

#include "cli/cli.hpp"
#include "core/address.hpp"
#include "core/escape.hpp"
#include "core/json.hpp"
#include "core/learn.hpp"
#include "core/lease_text.hpp"
#include "core/log.hpp"
#include "core/received_reply.hpp"
#include "core/reply_policy.hpp"

namespace bouncegate::cli {

int cmd_record(Context& ctx) {
  if (ctx.args.positional().size() != 1) throw UsageError("record ADDR --reply \"550 5.1.1 ...\"");
  std::string addr = need_address(ctx.args.positional()[0]);
  auto reply_text = ctx.args.opt("reply");
  if (!reply_text) throw UsageError("record needs --reply");
  Reply r = parse_reply(*reply_text);
  if (!r.valid) throw UsageError("--reply is not an SMTP reply: " + r.error);
  auto command = smtp_command_from(ctx.args.opt_or("command", "RCPT"));
  if (!command) throw UsageError("unknown --command");
  Learned l = learn_from_reply(ctx.cfg(), addr, *command, r, cli_context(ctx.args));
  auto e = ctx.store().record(l.record);
  if (ctx.json) {
    JsonObject o;
    o.add("address", addr)
        .add("class", to_string(l.record.cls))
        .add("action", to_string(l.record.action))
        .add("rule", l.record.rule);
    if (e) o.add_raw("entry", entry_json(*e));
    std::cout << o.str() << "\n";
  } else {
    std::cout << addr << ": class=" << to_string(l.record.cls)
              << " action=" << to_string(l.record.action) << " rule=" << l.record.rule;
    if (e) std::cout << " level=" << e->level << " lease=" << lease_text(e->ttl_ms);
    std::cout << "\n";
  }
  return kOk;
}

int cmd_gate(Context& ctx) {
  if (ctx.args.positional().size() != 1) throw UsageError("gate ADDR [--list ID]");
  std::string addr = need_address(ctx.args.positional()[0]);
  EventContext ec;
  ec.source = Source::cli;
  ec.queue_id = ctx.args.opt_or("queue-id", "");
  auto d = ctx.store().gate(addr, ctx.args.opt_or("list", ""), ec, ctx.args.flag("dry-run"));
  std::string reply =
      d.result == GateResult::pass ? "" : gate_reply(ctx.cfg().suppression, d, addr).line();
  if (ctx.json) {
    JsonObject o;
    o.add("address", addr).add("decision", to_string(d.result));
    if (d.entry) o.add_raw("entry", entry_json(*d.entry));
    if (!d.list.empty()) o.add("list", d.list);
    if (!reply.empty()) o.add("reply", reply);
    std::cout << o.str() << "\n";
  } else {
    std::cout << addr << ": decision=" << to_string(d.result);
    if (d.entry)
      std::cout << " class=" << to_string(d.entry->cls) << " level=" << d.entry->level
                << " lease=" << lease_text(d.entry->ttl_ms) << " hits=" << d.entry->hits;
    if (!d.list.empty()) std::cout << " list=" << d.list;
    std::cout << "\n";
    if (!reply.empty()) std::cout << "  reply: " << escape_control(reply) << "\n";
  }
  return kOk;
}

namespace {

void print_unsubscription(const SuppressionStore::Unsubscription& u) {
  std::cout << "  unsubscribed list=" << escape_control(u.list) << " at=" << utc_iso(u.at_ms)
            << " source=" << (u.source.empty() ? "-" : escape_control(u.source)) << "\n";
}

}  // namespace

int cmd_show(Context& ctx) {
  if (ctx.args.positional().size() != 1) throw UsageError("show ADDR");
  std::string addr = need_entry_address(ctx.args.positional()[0]);
  auto e = ctx.store().get(addr);
  auto unsubs = ctx.store().unsubscription_list(addr);
  std::sort(unsubs.begin(), unsubs.end(),
            [](const auto& a, const auto& b) { return a.list < b.list; });
  if (ctx.json) {
    std::string u = unsubscriptions_json(unsubs);
    if (e) {
      std::string j = entry_json(*e);
      j.pop_back();
      std::cout << j << ",\"suppressed\":true,\"unsubscribed\":" << u << "}\n";
    } else {
      std::cout << JsonObject()
                       .add("address", addr)
                       .add("suppressed", false)
                       .add_raw("unsubscribed", u)
                       .str()
                << "\n";
    }
  } else {
    if (e)
      print_entry_text(*e);
    else
      std::cout << addr << ": not suppressed\n";
    for (const auto& x : unsubs) print_unsubscription(x);
  }
  return e || !unsubs.empty() ? kOk : kNotFound;
}

// Suppressed addresses, then (unless --class names another class) the unsubscriptions, one
// line per list.
int cmd_list(Context& ctx) {
  ScanFilter f;
  f.cls = ctx.args.opt_or("class", "");
  if (!f.cls.empty() && !outcome_class_from(f.cls)) throw UsageError("unknown --class " + f.cls);
  f.domain = ctx.args.opt_or("domain", "");
  std::string list = ctx.args.opt_or("list", "");
  f.limit = std::stoul(ctx.args.opt_or("limit", "0"));
  std::vector<Entry> entries;
  if (list.empty() && f.cls != "unsubscribe") entries = ctx.store().scan(f);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.address < b.address; });
  for (const auto& e : entries) {
    if (ctx.json)
      std::cout << entry_json(e) << "\n";
    else
      std::cout << escape_control(e.address) << " class=" << to_string(e.cls)
                << " level=" << e.level << " lease=" << lease_text(e.ttl_ms) << " hits=" << e.hits
                << " code=" << log_quote(e.code) << " source=" << e.source << "\n";
  }
  std::vector<SuppressionStore::Unsubscription> unsubs;
  if (f.cls.empty() || f.cls == "unsubscribe") unsubs = ctx.store().scan_unsubscriptions(f.domain);
  std::erase_if(unsubs, [&](const auto& u) { return !list.empty() && u.list != list; });
  std::sort(unsubs.begin(), unsubs.end(), [](const auto& a, const auto& b) {
    return a.address != b.address ? a.address < b.address : a.list < b.list;
  });
  if (f.limit && unsubs.size() > f.limit) unsubs.resize(f.limit);
  for (const auto& u : unsubs) {
    if (ctx.json)
      std::cout << JsonObject()
                       .add("address", u.address)
                       .add("class", "unsubscribe")
                       .add("list", u.list)
                       .add("unsubscribed_at", utc_iso(u.at_ms))
                       .add("source", u.source)
                       .str()
                << "\n";
    else
      std::cout << escape_control(u.address) << " unsubscribed list=" << escape_control(u.list)
                << " at=" << utc_iso(u.at_ms)
                << " source=" << (u.source.empty() ? "-" : escape_control(u.source)) << "\n";
  }
  if (!ctx.json)
    std::cout << entries.size() << " suppressed, " << unsubs.size() << " unsubscriptions\n";
  return kOk;
}

// The class's configured action decides (complaint: permanent, unsubscribe: the list), as for
// every outcome; --permanent and --ttl only shape a suppression.
int cmd_add(Context& ctx) {
  if (ctx.args.positional().size() != 1)
    throw UsageError(
        "add ADDR|*@DOMAIN [--class C] [--ttl 7d | --permanent] [--list L] [--subdomains] "
        "[--reason TEXT]");
  std::string addr = need_entry_address(ctx.args.positional()[0]);
  auto cls = outcome_class_from(ctx.args.opt_or("class", "hard"));
  if (!cls) throw UsageError("unknown --class " + ctx.args.opt_or("class", ""));
  OutcomeRecord o = operator_entry(ctx.cfg(), addr, *cls, RecordOrigin::manual);
  if (ctx.args.flag("subdomains") && !is_domain_entry(addr))
    throw UsageError("--subdomains goes with a domain entry '*@domain'");
  o.subdomains = ctx.args.flag("subdomains");
  if (is_domain_entry(addr) && o.action == Action::reject)
    throw UsageError("a domain entry cannot be an unsubscription: unsubscribe addresses");
  o.code = ctx.args.opt_or("code", "");
  o.reason = ctx.args.opt_or("reason", "added by operator");
  o.text = o.reason;
  if (o.action == Action::reject) {
    if (ctx.args.flag("permanent") || ctx.args.opt("ttl"))
      throw UsageError("an unsubscribe has no lease: use --list L (default: every list)");
    o.list = ctx.args.opt_or("list", "*");
  } else if (ctx.args.opt("list")) {
    throw UsageError("--list goes with --class unsubscribe");
  } else if (ctx.args.flag("permanent")) {
    o.action = Action::suppress_permanent;
  } else if (auto t = ctx.args.opt("ttl")) {
    if (o.action == Action::suppress_permanent)
      throw UsageError("class " + std::string(to_string(*cls)) +
                       " suppresses permanently (suppression.actions): --ttl does not apply");
    auto d = parse_duration(*t);
    if (!d || d->count() <= 0) throw UsageError("--ttl expects a duration like 7d");
    o.ttl = *d;
  }
  auto e = ctx.store().record(o);
  if (o.action == Action::reject) {
    if (ctx.json)
      std::cout << JsonObject().add("address", addr).add("unsubscribed", o.list).str() << "\n";
    else
      std::cout << addr << ": unsubscribed list=" << escape_control(o.list) << "\n";
    return kOk;
  }
  if (!e) throw StoreError("add: entry was not written");
  if (ctx.json)
    std::cout << entry_json(*e) << "\n";
  else
    print_entry_text(*e);
  return kOk;
}

// Without --list: the suppression entry and every unsubscription. With --list: only that list.
int cmd_remove(Context& ctx) {
  if (ctx.args.positional().size() != 1) throw UsageError("remove ADDR [--list L]");
  if (ctx.args.opt("list")) return cmd_resubscribe(ctx);
  std::string addr = need_entry_address(ctx.args.positional()[0]);
  EventContext ec;
  ec.source = Source::cli;
  bool removed = ctx.store().remove(addr, ec);
  if (ctx.json)
    std::cout << JsonObject().add("address", addr).add("removed", removed).str() << "\n";
  else
    std::cout << addr << (removed ? ": removed\n" : ": was not suppressed\n");
  return removed ? kOk : kNotFound;
}

int cmd_resubscribe(Context& ctx) {
  if (ctx.args.positional().size() != 1) throw UsageError("resubscribe ADDR --list L");
  auto list = ctx.args.opt("list");
  if (!list || list->empty()) throw UsageError("resubscribe needs --list L ('*': every list)");
  std::string addr = need_address(ctx.args.positional()[0]);
  EventContext ec;
  ec.source = Source::cli;
  bool removed = ctx.store().resubscribe(addr, *list, ec);
  if (ctx.json)
    std::cout
        << JsonObject().add("address", addr).add("list", *list).add("resubscribed", removed).str()
        << "\n";
  else
    std::cout << addr << (removed ? ": resubscribed to " : ": was not unsubscribed from ")
              << escape_control(*list) << "\n";
  return removed ? kOk : kNotFound;
}

}  // namespace bouncegate::cli
