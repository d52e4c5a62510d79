// SuppressionStore over Redis: the Lua scripts of core/lua (atomic, one round trip each,
// EVALSHA with EVAL fallback on NOSCRIPT; names in core/store_scripts) and plain reads. The
// local journal is in core/store_journal.cpp.
#include "core/store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/address.hpp"
#include "core/escape.hpp"
#include "core/local_filter.hpp"
#include "core/metrics.hpp"
#include "core/record_effect.hpp"
#include "core/redis_pool.hpp"
#include "core/store_scripts.hpp"

namespace bouncegate {
namespace {

std::string str_of(const RedisValue& v) {
  if (v.type == RedisValue::integer) return std::to_string(v.integer_value);
  return v.str;
}
int64_t int_of(const RedisValue& v) {
  if (v.type == RedisValue::integer) return v.integer_value;
  if (v.type == RedisValue::string) {
    try {
      return std::stoll(v.str);
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::string hour_stamp(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  tm g;
  gmtime_r(&t, &g);
  char buf[16];
  strftime(buf, sizeof buf, "%Y%m%d%H", &g);
  return buf;
}

// The entry as the gate and record scripts return it:
// {_, class, level, pttl, code, text, hits, action, list, first_ms, last_ms, source}.
Entry entry_from_script(const std::string& addr, const RedisValue& v) {
  Entry e;
  e.address = addr;
  e.cls = outcome_class_from(str_of(v.elements[1])).value_or(OutcomeClass::unknown);
  e.level = static_cast<int>(int_of(v.elements[2]));
  e.ttl_ms = int_of(v.elements[3]);
  e.code = str_of(v.elements[4]);
  e.text = str_of(v.elements[5]);
  e.hits = int_of(v.elements[6]);
  e.action = action_from(str_of(v.elements[7])).value_or(Action::suppress);
  e.first_ms = int_of(v.elements[9]);
  e.last_ms = int_of(v.elements[10]);
  e.source = str_of(v.elements[11]);
  return e;
}

Entry entry_from_hash(const std::string& addr, const RedisValue& h, int64_t pttl) {
  Entry e;
  e.address = addr;
  e.ttl_ms = pttl;
  for (size_t i = 0; i + 1 < h.elements.size(); i += 2) {
    const std::string& k = h.elements[i].str;
    const std::string& v = h.elements[i + 1].str;
    if (k == "class")
      e.cls = outcome_class_from(v).value_or(OutcomeClass::unknown);
    else if (k == "action")
      e.action = action_from(v).value_or(Action::suppress);
    else if (k == "level")
      e.level = static_cast<int>(int_of(h.elements[i + 1]));
    else if (k == "code")
      e.code = v;
    else if (k == "text")
      e.text = v;
    else if (k == "source")
      e.source = v;
    else if (k == "first_ms")
      e.first_ms = int_of(h.elements[i + 1]);
    else if (k == "last_ms")
      e.last_ms = int_of(h.elements[i + 1]);
    else if (k == "hits")
      e.hits = int_of(h.elements[i + 1]);
    else if (k == "reason")
      e.reason = v;
    else if (k == "subdomains")
      e.subdomains = v == "1";
    else if (k == "delivered_ms")
      e.delivered_ms = int_of(h.elements[i + 1]);
  }
  return e;
}

// A u:{addr} field: list -> "ms source" (older entries hold only "ms").
SuppressionStore::Unsubscription unsubscription_of(const std::string& addr, const std::string& list,
                                                   const std::string& value) {
  SuppressionStore::Unsubscription u;
  u.address = addr;
  u.list = list;
  auto sp = value.find(' ');
  u.at_ms = std::atoll(value.substr(0, sp).c_str());
  if (sp != std::string::npos) u.source = value.substr(sp + 1);
  return u;
}

}  // namespace

std::string_view to_string(GateResult r) {
  switch (r) {
    case GateResult::pass:
      return "pass";
    case GateResult::reject:
      return "reject";
    case GateResult::defer:
      return "defer";
    case GateResult::unsubscribed:
      return "unsubscribed";
  }
  return "?";
}

std::string_view to_string(RecordOrigin o) {
  switch (o) {
    case RecordOrigin::outcome:
      return "outcome";
    case RecordOrigin::manual:
      return "manual";
    case RecordOrigin::import:
      return "import";
  }
  return "outcome";
}

std::optional<RecordOrigin> record_origin_from(std::string_view s) {
  for (auto o : {RecordOrigin::outcome, RecordOrigin::manual, RecordOrigin::import})
    if (s == to_string(o)) return o;
  return std::nullopt;
}

SuppressionStore::SuppressionStore(const RedisConfig& redis, const SuppressionConfig& suppression)
    : redis_cfg_(redis), sup_(suppression), pool_(std::make_unique<RedisPool>(redis)) {
  for (auto d : sup_.lease_ladder) ladder_args_.push_back(std::to_string(d.count()));
}

SuppressionStore::~SuppressionStore() = default;

// Every key shape in one place. An address is in braces (a Redis Cluster hash tag): an
// entry and its unsubscriptions share a slot.
std::string SuppressionStore::key_for(const std::string& address) const {
  return redis_cfg_.key_prefix + "s:{" + address + "}";
}
std::string SuppressionStore::unsub_key(const std::string& address) const {
  return redis_cfg_.key_prefix + "u:{" + address + "}";
}
std::string SuppressionStore::stat_key(const std::string& domain, const std::string& hour) const {
  return redis_cfg_.key_prefix + "stat:{" + domain + "}:" + hour;
}
std::string SuppressionStore::soft_key(const std::string& address) const {
  return redis_cfg_.key_prefix + "soft:{" + address + "}";
}
std::string SuppressionStore::seen_key(const std::string& id) const {
  return redis_cfg_.key_prefix + "seen:" + id;
}
std::string SuppressionStore::mid_key(const std::string& id) const {
  return redis_cfg_.key_prefix + "mid:" + id;
}
std::string SuppressionStore::midr_key(const std::string& id) const {
  return redis_cfg_.key_prefix + "midr:" + id;
}
std::string SuppressionStore::rate_key(const std::string& bucket) const {
  return redis_cfg_.key_prefix + "rl:{" + bucket + "}";
}
std::string SuppressionStore::expiry_key() const {
  return redis_cfg_.key_prefix + "expiry";
}
std::string SuppressionStore::events_key() const {
  return redis_cfg_.key_prefix + "events";
}

RedisValue SuppressionStore::run_script(int which, const std::vector<std::string>& keys,
                                        const std::vector<std::string>& args) {
  const auto& sc = store_scripts::script(static_cast<store_scripts::Id>(which));
  // More keys than named ones: the gate's parent-domain entries.
  if (keys.size() < sc.keys.size() || args.size() < sc.args.size())
    throw std::logic_error(std::string(sc.name) + " script: wrong number of keys or arguments");
  std::vector<std::string> argv = {"EVALSHA", sc.sha, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto started = std::chrono::steady_clock::now();
  auto& metrics = Metrics::instance();
  try {
    RedisValue v = pool_->command(argv);
    if (v.type == RedisValue::error && v.str.rfind("NOSCRIPT", 0) == 0) {
      // After a Redis restart or SCRIPT FLUSH: EVAL loads the script again.
      argv[0] = "EVAL";
      argv[1] = sc.body;
      v = pool_->command(argv);
    }
    if (v.type == RedisValue::error) throw StoreError("redis script error: " + v.str);
    metrics.observe(
        "bouncegate_store_call_seconds",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
        {{"op", sc.name}});
    return v;
  } catch (const StoreError&) {
    metrics.inc("bouncegate_store_errors_total", {{"op", sc.name}});
    throw;
  }
}

bool SuppressionStore::surely_clean(const std::string& address) const {
  if (!filter_ || filter_->may_hold_any(gate_names(address))) return false;
  clean_pass();
  Metrics::instance().inc("bouncegate_gate_local_filter_total", {{"result", "pass"}});
  return true;
}

void SuppressionStore::note_entry_coming(const std::string& address) const {
  if (filter_) filter_->note(address);
}

std::vector<std::string> SuppressionStore::gate_names(const std::string& address) {
  std::vector<std::string> names = {address};
  for (auto& d : domain_entries_for(domain_of(address))) names.push_back(std::move(d));
  return names;
}

GateDecision SuppressionStore::gate(const std::string& address, const std::string& list,
                                    const EventContext& ctx, bool dry_run, GateScope scope,
                                    const std::string& bypass) {
  if (surely_clean(address)) return GateDecision{};
  count_filter_ask();
  const std::vector<std::string> pre = gate_precheck_command(address, list, scope);
  if (pre.empty()) return clean_pass();
  // Timed and counted under op "gate" as the script is (run_script): one series per question.
  auto started = std::chrono::steady_clock::now();
  auto& metrics = Metrics::instance();
  try {
    if (precheck_clean(pool_->command(pre))) {
      metrics.observe(
          "bouncegate_store_call_seconds",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
          {{"op", "gate"}});
      return clean_pass();
    }
  } catch (const StoreError&) {
    metrics.inc("bouncegate_store_errors_total", {{"op", "gate"}});
    throw;
  }
  ScriptCall c = gate_script_call(address, list, ctx, dry_run, scope, bypass);
  return gate_decision(address, dry_run, run_script(store_scripts::kGate, c.keys, c.args));
}

std::vector<std::string> SuppressionStore::gate_precheck_command(const std::string& address,
                                                                 const std::string& list,
                                                                 GateScope scope) const {
  // The keys gate.lua reads an entry or an unsubscribe from (gate_script_call's, without the
  // event stream and the expiry index, which it only writes).
  std::vector<std::string> argv = {"EXISTS"};
  if (!list.empty()) argv.push_back(unsub_key(address));
  if (scope == GateScope::all) {
    argv.push_back(key_for(address));
    for (const auto& d : domain_entries_for(domain_of(address))) argv.push_back(key_for(d));
  }
  if (argv.size() == 1) argv.clear();
  return argv;
}

bool SuppressionStore::precheck_clean(const RedisValue& reply) {
  return reply.type == RedisValue::integer && reply.integer_value == 0;
}

GateDecision SuppressionStore::clean_pass() const {
  Metrics::instance().inc("bouncegate_gate_decisions_total", {{"result", "pass"}, {"class", ""}});
  return GateDecision{};
}

void SuppressionStore::count_filter_ask() const {
  if (filter_) Metrics::instance().inc("bouncegate_gate_local_filter_total", {{"result", "ask"}});
}

SuppressionStore::ScriptCall SuppressionStore::gate_script_call(const std::string& address,
                                                                const std::string& list,
                                                                const EventContext& ctx,
                                                                bool dry_run, GateScope scope,
                                                                const std::string& bypass) const {
  store_scripts::Args a(store_scripts::kGate);
  a.set("now", std::to_string(now_ms()))
      .set("list", list)
      .set("queue_id", ctx.queue_id)
      .set("message_id", ctx.message_id)
      .set("source", source_label(ctx))
      .set("addr", address)
      .set("maxlen", std::to_string(sup_.events_maxlen))
      .set("dry_run", dry_run ? "1" : "0")
      .set("scope", scope == GateScope::unsubscribe ? "unsubscribe" : "all")
      .set("bypass", bypass);
  ScriptCall c;
  c.keys = {key_for(address), unsub_key(address), events_key(), expiry_key()};
  for (const auto& d : domain_entries_for(domain_of(address))) c.keys.push_back(key_for(d));
  if (c.keys.size() == 4) c.keys.push_back(key_for("*@"));  // no domain: a key that never exists
  c.args = a.done(ladder_args());
  return c;
}

std::vector<std::string> SuppressionStore::gate_command(const std::string& address,
                                                        const std::string& list,
                                                        const EventContext& ctx, bool dry_run,
                                                        const std::string& bypass,
                                                        bool with_body) const {
  const auto& sc = store_scripts::script(store_scripts::kGate);
  ScriptCall c = gate_script_call(address, list, ctx, dry_run, GateScope::all, bypass);
  std::vector<std::string> argv = {with_body ? "EVAL" : "EVALSHA", with_body ? sc.body : sc.sha,
                                   std::to_string(c.keys.size())};
  argv.insert(argv.end(), c.keys.begin(), c.keys.end());
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  return argv;
}

GateDecision SuppressionStore::gate_decision(const std::string& address, bool dry_run,
                                             const RedisValue& v) {
  GateDecision d;
  if (v.type == RedisValue::error) throw StoreError("redis script error: " + v.str);
  if (v.type != RedisValue::array || v.elements.empty()) throw StoreError("gate: unexpected reply");
  const std::string r = str_of(v.elements[0]);
  // A shadow-mode refusal refused nothing: it is counted apart, so refusal rates stay true.
  Metrics::instance().inc(
      dry_run && r != "pass" ? "bouncegate_gate_shadow_refusals_total"
                             : "bouncegate_gate_decisions_total",
      {{"result", r}, {"class", v.elements.size() > 1 ? str_of(v.elements[1]) : ""}});
  if (r == "pass" || r == "bypass") return d;
  d.result = r == "unsubscribed" ? GateResult::unsubscribed
             : r == "defer"      ? GateResult::defer
                                 : GateResult::reject;
  if (v.elements.size() < 12) throw StoreError("gate: short reply");
  d.entry = entry_from_script(address, v);
  d.list = str_of(v.elements[8]);
  if (v.elements.size() > 12 && !str_of(v.elements[12]).empty()) {
    d.entry->address = str_of(v.elements[12]);
    d.entry->subdomains = v.elements.size() > 13 && str_of(v.elements[13]) == "1";
  }
  return d;
}

SuppressionStore::ScriptCall SuppressionStore::record_call(const OutcomeRecord& o,
                                                           int64_t now) const {
  std::string domain = o.counts_for_domain ? domain_of(o.address) : std::string();
  // Texts from the network are stored escaped (multi-line replies keep their line breaks):
  // nothing read back from Redis can drive a terminal or forge a log line.
  std::string text =
      escape_control_for_storage(o.text.size() > 2048 ? o.text.substr(0, 2048) : o.text);
  ScriptCall c;
  c.keys = {
      key_for(o.address),
      events_key(),
      stat_key(domain.empty() ? "-" : domain, hour_stamp(o.occurred_ms ? o.occurred_ms : now)),
      unsub_key(o.address),
      seen_key(o.dedupe_id.empty() ? std::string("-") : o.dedupe_id),
      soft_key(o.address),
      expiry_key()};
  // Soft-bounce escalation (suppression.escalation): only a delivery outcome about this
  // recipient's own mailbox counts, never one about the sender, the message or the network.
  std::string esc_after, esc_within, esc_ladder, esc_action, esc_message;
  if (auto p = sup_.escalation.find(o.cls);
      p != sup_.escalation.end() && counts_toward_escalation(sup_, o)) {
    esc_after = std::to_string(p->second.after);
    esc_within = std::to_string(p->second.within.count());
    for (Millis m : p->second.ladder)
      esc_ladder += (esc_ladder.empty() ? "" : ",") + std::to_string(m.count());
    esc_action = std::string(to_string(p->second.action));
    // Retries of one message count once: Postfix keeps its queue id across retries.
    esc_message = !o.ctx.queue_id.empty()     ? "q:" + o.ctx.queue_id
                  : !o.ctx.message_id.empty() ? "m:" + o.ctx.message_id
                                              : "r:" + o.dedupe_id;
  }
  store_scripts::Args a(store_scripts::kRecord);
  a.set("now", std::to_string(now))
      .set("class", std::string(to_string(o.cls)))
      .set("action", std::string(to_string(o.action)))
      .set("code", escape_control_for_storage(o.code))
      .set("text", text)
      .set("source", source_label(o.ctx))
      .set("queue_id", escape_control_for_storage(o.ctx.queue_id))
      .set("message_id", escape_control_for_storage(o.ctx.message_id))
      .set("rule", o.rule)
      .set("addr", o.address)
      .set("maxlen", std::to_string(sup_.events_maxlen))
      .set("stats_ttl_s", std::to_string(sup_.stats_ttl.count() / 1000))
      .set("ttl_override_ms", o.ttl ? std::to_string(o.ttl->count()) : std::string())
      .set("reason", escape_control_for_storage(o.reason))
      .set("dedupe_ttl_ms",
           o.dedupe_id.empty() ? std::string() : std::to_string(o.dedupe_ttl.count()))
      .set("verified", o.verified)
      .set("origin", std::string(to_string(o.origin)))
      .set("list", escape_control_for_storage(o.list))
      .set("first_seen_ms", o.first_seen_ms ? std::to_string(o.first_seen_ms) : std::string())
      .set("last_seen_ms", o.last_seen_ms ? std::to_string(o.last_seen_ms) : std::string())
      .set("subdomains", o.subdomains ? "1" : "")
      .set("esc_after", esc_after)
      .set("esc_within_ms", esc_within)
      .set("esc_ladder", esc_ladder)
      .set("esc_action", esc_action)
      .set("esc_message", escape_control_for_storage(esc_message))
      .set("ts", o.occurred_ms ? std::to_string(o.occurred_ms) : std::string())
      .set("provider_message_id", escape_control_for_storage(o.provider_message_id))
      .set("sender", escape_control_for_storage(o.sender))
      .set("remote_mta", escape_control_for_storage(o.remote_mta))
      .set("step", o.steps_lease ? "1" : "");
  c.args = a.done(ladder_args());
  return c;
}

RecordResult SuppressionStore::record_result(const OutcomeRecord& o, const RedisValue& v) {
  if (v.type != RedisValue::array || v.elements.empty())
    throw StoreError("record: unexpected reply");
  RecordResult r;
  r.duplicate = v.elements[0].type == RedisValue::integer && v.elements[0].integer_value < 0;
  if (r.duplicate) return r;
  Metrics::instance().inc(
      "bouncegate_outcomes_total",
      {{"class", std::string(to_string(o.cls))}, {"source", std::string(to_string(o.ctx.source))}});
  if (v.elements.size() >= 12) r.entry = entry_from_script(o.address, v);
  return r;
}

RecordResult SuppressionStore::record(const OutcomeRecord& o) {
  ScriptCall c = record_call(o, now_ms());
  return record_result(o, run_script(store_scripts::kRecord, c.keys, c.args));
}

void SuppressionStore::unsubscribe(const std::string& address, const std::string& list,
                                   const EventContext& ctx) {
  store_scripts::Args a(store_scripts::kUnsubscribe);
  a.set("now", std::to_string(now_ms()))
      .set("list", list.empty() ? "*" : list)
      .set("addr", address)
      .set("source", source_label(ctx))
      .set("maxlen", std::to_string(sup_.events_maxlen))
      .set("queue_id", ctx.queue_id);
  run_script(store_scripts::kUnsubscribe, {unsub_key(address), events_key()}, a.done());
}

bool SuppressionStore::remove(const std::string& address, const EventContext& ctx) {
  store_scripts::Args a(store_scripts::kRemove);
  a.set("now", std::to_string(now_ms()))
      .set("addr", address)
      .set("source", source_label(ctx))
      .set("maxlen", std::to_string(sup_.events_maxlen));
  RedisValue v = run_script(
      store_scripts::kRemove,
      {key_for(address), unsub_key(address), events_key(), expiry_key(), soft_key(address)},
      a.done());
  return int_of(v) > 0;
}

size_t SuppressionStore::sweep_expired(size_t limit) {
  store_scripts::Args a(store_scripts::kSweep);
  a.set("now", std::to_string(now_ms()))
      .set("maxlen", std::to_string(sup_.events_maxlen))
      .set("limit", std::to_string(limit))
      .set("entry_prefix", redis_cfg_.key_prefix + "s:{");
  return static_cast<size_t>(
      int_of(run_script(store_scripts::kSweep, {expiry_key(), events_key()}, a.done())));
}

bool SuppressionStore::resubscribe(const std::string& address, const std::string& list,
                                   const EventContext& ctx) {
  store_scripts::Args a(store_scripts::kResubscribe);
  a.set("now", std::to_string(now_ms()))
      .set("list", list.empty() ? "*" : list)
      .set("addr", address)
      .set("source", source_label(ctx))
      .set("maxlen", std::to_string(sup_.events_maxlen));
  RedisValue v =
      run_script(store_scripts::kResubscribe, {unsub_key(address), events_key()}, a.done());
  return int_of(v) > 0;
}

void SuppressionStore::for_each_unsubscription(
    const std::string& domain, const std::function<bool(const Unsubscription&)>& visit) {
  std::string prefix = redis_cfg_.key_prefix + "u:{";
  std::string cursor = "0";
  do {
    RedisValue v = pool_->command({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"});
    if (v.type != RedisValue::array || v.elements.size() != 2) throw StoreError("scan: bad reply");
    cursor = v.elements[0].str;
    std::vector<std::vector<std::string>> cmds;
    std::vector<std::string> addrs;
    for (const auto& k : v.elements[1].elements) {
      if (k.str.size() < prefix.size() + 1) continue;
      std::string addr = k.str.substr(prefix.size(), k.str.size() - prefix.size() - 1);
      if (!domain.empty() && domain_of(addr) != domain) continue;
      addrs.push_back(addr);
      cmds.push_back({"HGETALL", k.str});
    }
    if (cmds.empty()) continue;
    auto r = pool_->pipeline(cmds);
    for (size_t i = 0; i < addrs.size(); ++i)
      for (size_t j = 0; j + 1 < r[i].elements.size(); j += 2)
        if (!visit(unsubscription_of(addrs[i], r[i].elements[j].str, r[i].elements[j + 1].str)))
          return;
  } while (cursor != "0");
}

std::vector<SuppressionStore::Unsubscription> SuppressionStore::scan_unsubscriptions(
    const std::string& domain) {
  std::vector<Unsubscription> out;
  for_each_unsubscription(domain, [&](const Unsubscription& u) {
    out.push_back(u);
    return true;
  });
  return out;
}

void SuppressionStore::log_import(const std::string& file, size_t rows, const EventContext& ctx) {
  RedisValue v = pool_->command({"XADD",
                                 events_key(),
                                 "MAXLEN",
                                 "~",
                                 std::to_string(sup_.events_maxlen),
                                 "*",
                                 "kind",
                                 "import",
                                 "ts",
                                 std::to_string(now_ms()),
                                 "addr",
                                 "",
                                 "class",
                                 "",
                                 "action",
                                 "import",
                                 "source",
                                 source_label(ctx),
                                 "file",
                                 escape_control_for_storage(file),
                                 "rows",
                                 std::to_string(rows)});
  if (v.type == RedisValue::error) throw StoreError("log_import: " + v.str);
}

std::optional<Entry> SuppressionStore::get(const std::string& address) {
  std::string k = key_for(address);
  auto r = pool_->pipeline({{"HGETALL", k}, {"PTTL", k}});
  if (r[0].type != RedisValue::array || r[0].elements.empty()) return std::nullopt;
  return entry_from_hash(address, r[0], int_of(r[1]));
}

std::vector<SuppressionStore::Unsubscription> SuppressionStore::unsubscription_list(
    const std::string& address) {
  RedisValue v = pool_->command({"HGETALL", unsub_key(address)});
  std::vector<Unsubscription> out;
  for (size_t i = 0; i + 1 < v.elements.size(); i += 2)
    out.push_back(unsubscription_of(address, v.elements[i].str, v.elements[i + 1].str));
  return out;
}

std::map<std::string, int64_t> SuppressionStore::unsubscriptions(const std::string& address) {
  RedisValue v = pool_->command({"HGETALL", unsub_key(address)});
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i + 1 < v.elements.size(); i += 2)
    out[v.elements[i].str] = int_of(v.elements[i + 1]);
  return out;
}

EntryPage SuppressionStore::scan_page(const ScanFilter& f, const std::string& cursor,
                                      size_t count) {
  const std::string prefix = redis_cfg_.key_prefix + "s:{";
  EntryPage page;
  page.next_cursor = cursor;
  // SCAN may answer an empty batch with a cursor that goes on: ask again, a bounded number of
  // times, so that a page is empty only at the end or after a long run of non-matching keys.
  for (int tries = 0; tries < 16 && page.entries.empty(); ++tries) {
    RedisValue v = pool_->command(
        {"SCAN", page.next_cursor, "MATCH", prefix + "*", "COUNT", std::to_string(count)});
    if (v.type != RedisValue::array || v.elements.size() != 2) throw StoreError("scan: bad reply");
    page.next_cursor = v.elements[0].str;
    std::vector<std::vector<std::string>> cmds;
    std::vector<std::string> addrs;
    for (const auto& k : v.elements[1].elements) {
      if (k.str.size() < prefix.size() + 1) continue;
      std::string addr = k.str.substr(prefix.size(), k.str.size() - prefix.size() - 1);
      if (!f.domain.empty() && domain_of(addr) != f.domain) continue;
      addrs.push_back(addr);
      cmds.push_back({"HGETALL", k.str});
      cmds.push_back({"PTTL", k.str});
    }
    if (!cmds.empty()) {
      auto r = pool_->pipeline(cmds);
      for (size_t i = 0; i < addrs.size(); ++i) {
        if (r[2 * i].elements.empty()) continue;  // expired between SCAN and HGETALL
        Entry e = entry_from_hash(addrs[i], r[2 * i], int_of(r[2 * i + 1]));
        if (!f.cls.empty() && to_string(e.cls) != f.cls) continue;
        if (!f.source.empty() && e.source != f.source && e.source.rfind(f.source + ":", 0) != 0)
          continue;
        if (f.since_ms && e.last_ms < f.since_ms) continue;
        page.entries.push_back(std::move(e));
      }
    }
    if (page.next_cursor == "0") break;
  }
  return page;
}

void SuppressionStore::for_each_entry(const ScanFilter& f,
                                      const std::function<bool(const Entry&)>& visit) {
  std::string cursor = "0";
  size_t n = 0;
  do {
    EntryPage page = scan_page(f, cursor, 1000);
    cursor = page.next_cursor;
    for (const Entry& e : page.entries) {
      if (!visit(e)) return;
      if (f.limit && ++n >= f.limit) return;
    }
  } while (cursor != "0");
}

std::vector<GateDecision> SuppressionStore::check(const std::vector<std::string>& addresses,
                                                  const std::string& list,
                                                  const std::string& bypass) {
  const auto& sc = store_scripts::script(store_scripts::kCheck);
  auto calls = [&](bool eval) {
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(addresses.size());
    for (const auto& a : addresses) {
      std::vector<std::string> keys = {key_for(a), unsub_key(a)};
      for (const auto& d : domain_entries_for(domain_of(a))) keys.push_back(key_for(d));
      if (keys.size() == 2) keys.push_back(key_for("*@"));
      std::vector<std::string> argv = {eval ? "EVAL" : "EVALSHA", eval ? sc.body : sc.sha,
                                       std::to_string(keys.size())};
      argv.insert(argv.end(), keys.begin(), keys.end());
      argv.push_back(list);
      argv.push_back(bypass);
      cmds.push_back(std::move(argv));
    }
    return cmds;
  };
  auto started = std::chrono::steady_clock::now();
  std::vector<RedisValue> r;
  try {
    r = pool_->pipeline(calls(false));
    // After a Redis restart or SCRIPT FLUSH the whole batch is sent again with the body.
    if (!r.empty() && r[0].type == RedisValue::error && r[0].str.rfind("NOSCRIPT", 0) == 0)
      r = pool_->pipeline(calls(true));
  } catch (const StoreError&) {
    Metrics::instance().inc("bouncegate_store_errors_total", {{"op", sc.name}});
    throw;
  }
  Metrics::instance().observe(
      "bouncegate_store_call_seconds",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
      {{"op", sc.name}});
  std::vector<GateDecision> out(addresses.size());
  for (size_t i = 0; i < r.size() && i < out.size(); ++i) {
    const RedisValue& v = r[i];
    if (v.type == RedisValue::error) throw StoreError("check: " + v.str);
    if (v.type != RedisValue::array || v.elements.empty()) throw StoreError("check: bad reply");
    std::string res = str_of(v.elements[0]);
    if (res == "pass" || res == "bypass") continue;
    if (v.elements.size() < 8) throw StoreError("check: short reply");
    GateDecision& d = out[i];
    d.result = res == "unsubscribed" ? GateResult::unsubscribed
               : res == "defer"      ? GateResult::defer
                                     : GateResult::reject;
    d.list = str_of(v.elements[4]);
    if (d.result == GateResult::unsubscribed) continue;
    Entry e;
    e.address = str_of(v.elements[3]).empty() ? addresses[i] : str_of(v.elements[3]);
    e.cls = outcome_class_from(str_of(v.elements[1])).value_or(OutcomeClass::unknown);
    e.ttl_ms = int_of(v.elements[2]);
    e.action = action_from(str_of(v.elements[5])).value_or(Action::suppress);
    e.level = static_cast<int>(int_of(v.elements[6]));
    e.code = str_of(v.elements[7]);
    d.entry = e;
  }
  return out;
}

std::vector<Entry> SuppressionStore::scan(const ScanFilter& f) {
  std::vector<Entry> out;
  for_each_entry(f, [&](const Entry& e) {
    out.push_back(e);
    return true;
  });
  return out;
}

void SuppressionStore::for_each_event(int64_t since_ms, int64_t until_ms,
                                      const std::function<bool(const Event&)>& visit) {
  std::string start = std::to_string(since_ms) + "-0";
  const std::string end = until_ms ? std::to_string(until_ms) : std::string("+");
  for (;;) {
    RedisValue v = pool_->command({"XRANGE", events_key(), start, end, "COUNT", "1000"});
    if (v.type != RedisValue::array) throw StoreError("xrange: bad reply");
    if (v.elements.empty()) break;
    for (const auto& e : v.elements)
      if (e.elements.size() == 2 && !visit(event_from_stream_entry(e))) return;
    start = "(" + v.elements.back().elements[0].str;
    if (v.elements.size() < 1000) break;
  }
}

std::vector<Event> SuppressionStore::events_since(int64_t since_ms, size_t max) {
  std::vector<Event> out;
  for_each_event(since_ms, 0, [&](const Event& ev) {
    out.push_back(ev);
    return !(max && out.size() >= max);
  });
  return out;
}

SuppressionStore::HourlyStats SuppressionStore::stats_by_hour(int64_t since_ms, int64_t until_ms,
                                                              const std::string& domain) {
  HourlyStats out;
  std::string since_hour = hour_stamp(since_ms);
  std::string until_hour = hour_stamp(until_ms);
  std::string prefix = redis_cfg_.key_prefix + "stat:{";
  std::string pattern = prefix + (domain.empty() ? "*" : domain + "}:*");
  std::string cursor = "0";
  do {
    RedisValue v = pool_->command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (v.type != RedisValue::array || v.elements.size() != 2) throw StoreError("scan: bad reply");
    cursor = v.elements[0].str;
    std::vector<std::vector<std::string>> cmds;
    std::vector<std::pair<std::string, std::string>> where;  // domain, hour
    for (const auto& k : v.elements[1].elements) {
      size_t close = k.str.rfind("}:");
      if (close == std::string::npos || close < prefix.size()) continue;
      std::string hour = k.str.substr(close + 2);
      if (hour < since_hour || hour > until_hour) continue;
      where.emplace_back(k.str.substr(prefix.size(), close - prefix.size()), hour);
      cmds.push_back({"HGETALL", k.str});
    }
    if (cmds.empty()) continue;
    auto r = pool_->pipeline(cmds);
    for (size_t i = 0; i < where.size(); ++i)
      for (size_t j = 0; j + 1 < r[i].elements.size(); j += 2)
        out[where[i].first][where[i].second][r[i].elements[j].str] += int_of(r[i].elements[j + 1]);
  } while (cursor != "0");
  return out;
}

std::map<std::string, std::map<std::string, int64_t>> SuppressionStore::stats(
    int64_t since_ms, const std::string& domain) {
  std::map<std::string, std::map<std::string, int64_t>> out;
  for (const auto& [d, hours] : stats_by_hour(since_ms, now_ms(), domain))
    for (const auto& [h, counts] : hours)
      for (const auto& [c, n] : counts) out[d][c] += n;
  return out;
}

void SuppressionStore::remember_message(const std::string& message_id,
                                        const std::map<std::string, std::string>& fields,
                                        const std::vector<std::string>& recipients) {
  auto cmds = remember_commands({message_id, fields, recipients});
  if (cmds.empty()) return;
  auto r = pool_->pipeline(cmds);
  for (const auto& v : r)
    if (v.type == RedisValue::error) throw StoreError("remember_message: " + v.str);
}

std::vector<std::vector<std::string>> SuppressionStore::remember_commands(
    const MessageNote& note) const {
  if (note.message_id.empty() || (note.fields.empty() && note.recipients.empty())) return {};
  const std::string k = mid_key(note.message_id);
  const std::string ttl = std::to_string(sup_.message_id_ttl.count());
  std::vector<std::string> hset = {"HSET", k};
  for (const auto& [f, v] : note.fields) {
    hset.push_back(f);
    hset.push_back(v);
  }
  if (!note.recipients.empty()) hset.insert(hset.end(), {"rcpts", "1"});
  std::vector<std::vector<std::string>> cmds = {hset, {"PEXPIRE", k, ttl}};
  if (!note.recipients.empty()) {
    const std::string rk = midr_key(note.message_id);
    std::vector<std::string> sadd = {"SADD", rk};
    sadd.insert(sadd.end(), note.recipients.begin(), note.recipients.end());
    cmds.push_back(sadd);
    cmds.push_back({"PEXPIRE", rk, ttl});
  }
  return cmds;
}

bool SuppressionStore::message_had_recipient(const std::string& message_id,
                                             const std::string& address) {
  RedisValue v = pool_->command({"SISMEMBER", midr_key(message_id), address});
  if (v.type == RedisValue::error) throw StoreError("message_had_recipient: " + v.str);
  return v.type == RedisValue::integer && v.integer_value == 1;
}

std::map<std::string, std::string> SuppressionStore::lookup_message(const std::string& message_id) {
  RedisValue v = pool_->command({"HGETALL", mid_key(message_id)});
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < v.elements.size(); i += 2)
    out[v.elements[i].str] = v.elements[i + 1].str;
  return out;
}

bool SuppressionStore::take_send_token(const std::string& bucket, int per_minute, int per_hour) {
  if (per_minute <= 0 && per_hour <= 0) return true;
  store_scripts::Args a(store_scripts::kRate);
  a.set("now", std::to_string(now_ms()))
      .set("per_minute", std::to_string(per_minute))
      .set("per_hour", std::to_string(per_hour))
      .set("refund", "");
  RedisValue v = run_script(store_scripts::kRate, {rate_key(bucket)}, a.done());
  return int_of(v) == 1;
}

void SuppressionStore::refund_send_token(const std::string& bucket) {
  store_scripts::Args a(store_scripts::kRate);
  a.set("now", std::to_string(now_ms()))
      .set("per_minute", "0")
      .set("per_hour", "0")
      .set("refund", "1");
  run_script(store_scripts::kRate, {rate_key(bucket)}, a.done());
}

void SuppressionStore::share_pause(Millis pause) {
  if (pause.count() <= 0) return;
  RedisValue v = pool_->command(pause_command(pause));
  if (v.type == RedisValue::error) throw StoreError("pause: " + v.str);
}

std::vector<std::string> SuppressionStore::pause_command(Millis pause) const {
  // NX: a pause in force is neither shortened nor extended; the next throttle after it sets
  // a new one.
  return {"SET", redis_cfg_.key_prefix + "pause", std::to_string(now_ms() + pause.count()),
          "PX",  std::to_string(pause.count()),   "NX"};
}

int64_t SuppressionStore::shared_pause_until() {
  RedisValue v = pool_->command({"GET", redis_cfg_.key_prefix + "pause"});
  if (v.type == RedisValue::error) throw StoreError("pause: " + v.str);
  return v.is_nil() ? 0 : std::atoll(v.str.c_str());
}

namespace {
std::string slots_key(const RedisConfig& rc) {
  return rc.key_prefix + "upstream:slots";
}
}  // namespace

bool SuppressionStore::claim_upstream_slot(const std::string& member, int max, Millis ttl) {
  store_scripts::Args a(store_scripts::kSlots);
  a.set("op", "claim")
      .set("ttl", std::to_string(ttl.count()))
      .set("max", std::to_string(max))
      .set("member", member);
  RedisValue v = run_script(store_scripts::kSlots, {slots_key(redis_cfg_)}, a.done());
  return v.type == RedisValue::integer && v.integer_value == 1;
}

void SuppressionStore::renew_upstream_slots(const std::vector<std::string>& members, Millis ttl,
                                            bool readd) {
  if (members.empty()) return;
  store_scripts::Args a(store_scripts::kSlots);
  a.set("op", readd ? "readd" : "renew")
      .set("ttl", std::to_string(ttl.count()))
      .set("max", "0")
      .set("member", "");
  run_script(store_scripts::kSlots, {slots_key(redis_cfg_)}, a.done(members));
}

void SuppressionStore::release_upstream_slots(const std::vector<std::string>& members) {
  if (members.empty()) return;
  store_scripts::Args a(store_scripts::kSlots);
  a.set("op", "release").set("ttl", "0").set("max", "0").set("member", "");
  run_script(store_scripts::kSlots, {slots_key(redis_cfg_)}, a.done(members));
}

void SuppressionStore::ping() {
  RedisValue v = pool_->command({"PING"});
  if (v.type == RedisValue::error) throw StoreError("ping: " + v.str);
}

}  // namespace bouncegate
