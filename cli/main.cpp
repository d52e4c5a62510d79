// bouncegate admin CLI: check-config, classify, record, gate, show, list, add, remove, import,
// export, report, stats. Exit codes: 0 ok, 1 not found, 64 usage, 69 Redis unavailable, 78 config.
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/cli.hpp"
#include "core/address.hpp"
#include "core/classify.hpp"
#include "core/csv.hpp"
#include "core/descriptor_budget.hpp"
#include "core/escape.hpp"
#include "core/json.hpp"
#include "core/learn.hpp"
#include "core/log.hpp"
#include "core/replies.hpp"
#include "core/reply.hpp"

namespace bouncegate::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<std::string>& flags) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        opts_[name.substr(0, eq)] = name.substr(eq + 1);
      } else if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
        flags_.push_back(name);
      } else {
        if (i + 1 >= argv.size()) throw UsageError("option --" + name + " needs a value");
        opts_[name] = argv[++i];
      }
    } else {
      pos_.push_back(a);
    }
  }
}

std::optional<std::string> Args::opt(const std::string& name) const {
  auto it = opts_.find(name);
  if (it == opts_.end()) return std::nullopt;
  return it->second;
}
std::string Args::opt_or(const std::string& name, const std::string& def) const {
  return opt(name).value_or(def);
}
bool Args::flag(const std::string& name) const {
  return std::find(flags_.begin(), flags_.end(), name) != flags_.end();
}
void Args::reject_unknown(const std::vector<std::string>& known) const {
  for (const auto& [k, v] : opts_)
    if (std::find(known.begin(), known.end(), k) == known.end())
      throw UsageError("unknown option --" + k);
  for (const auto& f : flags_)
    if (std::find(known.begin(), known.end(), f) == known.end())
      throw UsageError("unknown option --" + f);
}

const Config& Context::cfg() {
  if (!config) config = load_config(config_path);
  return *config;
}

SuppressionStore& Context::store() {
  if (!store_) store_ = std::make_unique<SuppressionStore>(cfg().redis, cfg().suppression);
  return *store_;
}

namespace {

const std::vector<std::string> kFlags = {"json", "permanent", "help", "dry-run", "all", "explain"};

std::string need_address(const std::string& raw) {
  std::string why;
  auto a = normalize_address(raw, &why);
  if (!a) throw UsageError("'" + raw + "' is not a usable address: " + why);
  return a->address;
}

std::string ttl_text(int64_t ttl_ms) {
  if (ttl_ms < 0) return "permanent";
  return format_duration(Millis((ttl_ms + 999) / 1000 * 1000));
}

std::string entry_json(const Entry& e) {
  JsonObject o;
  o.add("address", e.address).add("class", e.cls).add("action", e.action).add("level", e.level);
  o.add("ttl_seconds", e.ttl_ms < 0 ? int64_t(-1) : e.ttl_ms / 1000);
  o.add("expires_at", e.ttl_ms < 0 ? std::string() : utc_iso(now_ms() + e.ttl_ms));
  o.add("code", e.code).add("text", e.text).add("hits", e.hits).add("source", e.source);
  o.add("first_seen", e.first_ms ? utc_iso(e.first_ms) : "")
      .add("last_seen", e.last_ms ? utc_iso(e.last_ms) : "");
  if (!e.reason.empty()) o.add("reason", e.reason);
  return o.str();
}

void print_entry_text(const Entry& e) {
  std::cout << escape_control(e.address) << "\n  class=" << e.cls << " action=" << e.action
            << " level=" << e.level << " lease=" << ttl_text(e.ttl_ms)
            << (e.ttl_ms >= 0 ? " expires=" + utc_iso(now_ms() + e.ttl_ms) : std::string())
            << "\n  code=" << log_quote(e.code) << " hits=" << e.hits << " source=" << e.source
            << "\n  first=" << (e.first_ms ? utc_iso(e.first_ms) : "-")
            << " last=" << (e.last_ms ? utc_iso(e.last_ms) : "-")
            << "\n  text=" << escape_control(e.text) << "\n";
}

int cmd_check_config(Context& ctx) {
  ctx.args.reject_unknown({"config", "json"});
  const Config& c = ctx.cfg();
  // Checked against this shell's limit; the units set LimitNOFILE= (see docs/systemd.md).
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  if (auto w = descriptor_limit_warning(c, nofile.rlim_cur))
    std::cerr << "bouncegate check-config: warning: " << *w << "\n";
  if (ctx.json) {
    std::cout << JsonObject()
                     .add("ok", true)
                     .add("file", c.source_file)
                     .add("rules", static_cast<int64_t>(c.classifier->size()))
                     .str()
              << "\n";
  } else {
    std::cout << c.source_file << ": ok (" << c.classifier->size() << " classification rules, "
              << c.suppression.lease_ladder.size() << " lease steps, redis "
              << c.redis.address_text() << ")\n";
  }
  return kOk;
}

int cmd_classify(Context& ctx) {
  ctx.args.reject_unknown({"config", "json", "command", "explain"});
  const bool explain = ctx.args.flag("explain");
  auto command = smtp_command_from(ctx.args.opt_or("command", "any"));
  if (!command)
    throw UsageError("unknown --command (CONNECT, EHLO, MAIL, RCPT, DATA, DATA-END, any)");
  std::vector<std::string> replies = ctx.args.positional();
  if (replies.empty()) {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) replies.push_back(line);
    }
  }
  if (replies.empty()) throw UsageError("classify needs a reply as argument or on stdin");
  // Classification needs no Redis; the config only adds rules and actions.
  std::shared_ptr<const Config> cfg;
  try {
    cfg = std::make_shared<Config>(ctx.cfg());
  } catch (const ConfigError&) {
    if (ctx.args.opt("config")) throw;
    cfg = load_config_text("redis: {}\n", "(built-in defaults)");
  }
  for (const auto& text : replies) {
    // "\n" written literally in an argument separates lines of a multi-line reply.
    std::string t = text;
    for (size_t p = t.find("\\n"); p != std::string::npos; p = t.find("\\n", p + 1))
      t.replace(p, 2, "\n");
    Reply r = parse_reply(t);
    if (!r.valid) r = reply_from_status("", t);
    auto c = cfg->classifier->classify(*command, r);
    Action a = cfg->suppression.action_for(c.cls);
    std::string enhanced = r.enhanced ? r.enhanced->str() : "";
    const bool permanent = (!r.code || r.code / 100 == 5) && (!r.enhanced || r.enhanced->cls == 5);
    const std::string matched_against = text_for_matching(r.text());
    if (ctx.json) {
      JsonObject o;
      o.add("reply", text)
          .add("basic", r.code ? std::to_string(r.code) : "")
          .add("enhanced", enhanced)
          .add("class", to_string(c.cls))
          .add("action", to_string(a))
          .add("rule", c.rule_id)
          .add("command", to_string(*command));
      if (explain)
        o.add("concerns", c.concerns)
            .add("permanent", permanent)
            .add("text_matched", matched_against)
            .add("phrase", c.matched_text)
            .add("why", c.why);
      std::cout << o.str() << "\n";
    } else {
      std::cout << "reply=" << log_quote(text)
                << " basic=" << (r.code ? std::to_string(r.code) : "-")
                << " enhanced=" << (enhanced.empty() ? "-" : enhanced)
                << " class=" << to_string(c.cls) << " action=" << to_string(a)
                << " rule=" << c.rule_id << "\n";
      if (explain) {
        std::cout << "  stage:      " << to_string(*command) << "\n"
                  << "  permanent:  " << (permanent ? "yes (5xx / 5.x.x or no code)" : "no") << "\n"
                  << "  read as:    " << escape_control(matched_against) << "\n"
                  << "  phrase:     "
                  << (c.matched_text.empty() ? "(none: decided by codes or stage)"
                                             : escape_control(c.matched_text))
                  << "\n"
                  << "  concerns:   " << (c.concerns.empty() ? "-" : c.concerns) << "\n"
                  << "  why:        " << c.why << "\n";
      }
    }
  }
  return kOk;
}

EventContext cli_context(const Args& args) {
  EventContext ec;
  ec.source = source_from(args.opt_or("source", "cli")).value_or(Source::cli);
  if (auto s = args.opt("source"); s && !source_from(*s))
    throw UsageError("unknown --source " + *s);
  ec.queue_id = args.opt_or("queue-id", "");
  ec.message_id = args.opt_or("message-id", "");
  return ec;
}

int cmd_record(Context& ctx) {
  ctx.args.reject_unknown(
      {"config", "json", "reply", "command", "source", "queue-id", "message-id"});
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
    if (e) std::cout << " level=" << e->level << " lease=" << ttl_text(e->ttl_ms);
    std::cout << "\n";
  }
  return kOk;
}

int cmd_gate(Context& ctx) {
  ctx.args.reject_unknown({"config", "json", "list", "queue-id", "dry-run"});
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
      std::cout << " class=" << d.entry->cls << " level=" << d.entry->level
                << " lease=" << ttl_text(d.entry->ttl_ms) << " hits=" << d.entry->hits;
    if (!d.list.empty()) std::cout << " list=" << d.list;
    std::cout << "\n";
    if (!reply.empty()) std::cout << "  reply: " << escape_control(reply) << "\n";
  }
  return kOk;
}

int cmd_show(Context& ctx) {
  ctx.args.reject_unknown({"config", "json"});
  if (ctx.args.positional().size() != 1) throw UsageError("show ADDR");
  std::string addr = need_address(ctx.args.positional()[0]);
  auto e = ctx.store().get(addr);
  auto unsubs = ctx.store().unsubscriptions(addr);
  if (!e && unsubs.empty()) {
    if (ctx.json)
      std::cout << JsonObject().add("address", addr).add("suppressed", false).str() << "\n";
    else
      std::cout << addr << ": not suppressed\n";
    return kNotFound;
  }
  if (ctx.json) {
    std::string u = "{";
    for (const auto& [list, ts] : unsubs)
      u += (u.size() > 1 ? "," : "") + json_string(list) + ":" + json_string(utc_iso(ts));
    u += "}";
    if (e) {
      std::string j = entry_json(*e);
      j.pop_back();
      std::cout << j << ",\"unsubscribed\":" << u << "}\n";
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
    for (const auto& [list, ts] : unsubs)
      std::cout << "  unsubscribed list=" << list << " at=" << utc_iso(ts) << "\n";
  }
  return kOk;
}

int cmd_list(Context& ctx) {
  ctx.args.reject_unknown({"config", "json", "class", "domain", "limit"});
  ScanFilter f;
  f.cls = ctx.args.opt_or("class", "");
  if (!f.cls.empty() && !outcome_class_from(f.cls)) throw UsageError("unknown --class " + f.cls);
  f.domain = ctx.args.opt_or("domain", "");
  f.limit = std::stoul(ctx.args.opt_or("limit", "0"));
  auto entries = ctx.store().scan(f);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.address < b.address; });
  for (const auto& e : entries) {
    if (ctx.json)
      std::cout << entry_json(e) << "\n";
    else
      std::cout << escape_control(e.address) << " class=" << e.cls << " level=" << e.level
                << " lease=" << ttl_text(e.ttl_ms) << " hits=" << e.hits
                << " code=" << log_quote(e.code) << " source=" << e.source << "\n";
  }
  if (!ctx.json) std::cout << entries.size() << " suppressed\n";
  return kOk;
}

int cmd_add(Context& ctx) {
  ctx.args.reject_unknown({"config", "json", "class", "ttl", "permanent", "reason", "code"});
  if (ctx.args.positional().size() != 1)
    throw UsageError("add ADDR [--class C] [--ttl 7d | --permanent] [--reason TEXT]");
  std::string addr = need_address(ctx.args.positional()[0]);
  auto cls = outcome_class_from(ctx.args.opt_or("class", "hard"));
  if (!cls) throw UsageError("unknown --class");
  OutcomeRecord o = outcome_for_class(ctx.cfg(), addr, *cls, ctx.args.opt_or("code", ""), "",
                                      EventContext{}, "manual");
  o.reason = ctx.args.opt_or("reason", "added by operator");
  o.text = o.reason;
  if (ctx.args.flag("permanent")) {
    o.action = Action::suppress_permanent;
  } else {
    // A manual add always suppresses, whatever the class's configured action.
    if (o.action != Action::defer) o.action = Action::suppress;
    if (auto t = ctx.args.opt("ttl")) {
      auto d = parse_duration(*t);
      if (!d || d->count() <= 0) throw UsageError("--ttl expects a duration like 7d");
      o.ttl = *d;
    }
  }
  auto e = ctx.store().record(o);
  if (!e) throw StoreError("add: entry was not written");
  if (ctx.json)
    std::cout << entry_json(*e) << "\n";
  else
    print_entry_text(*e);
  return kOk;
}

int cmd_remove(Context& ctx) {
  ctx.args.reject_unknown({"config", "json"});
  if (ctx.args.positional().size() != 1) throw UsageError("remove ADDR");
  std::string addr = need_address(ctx.args.positional()[0]);
  EventContext ec;
  ec.source = Source::cli;
  bool removed = ctx.store().remove(addr, ec);
  if (ctx.json)
    std::cout << JsonObject().add("address", addr).add("removed", removed).str() << "\n";
  else
    std::cout << addr << (removed ? ": removed\n" : ": was not suppressed\n");
  return removed ? kOk : kNotFound;
}

int cmd_export(Context& ctx) {
  ctx.args.reject_unknown({"config", "json", "format"});
  std::string format = ctx.json ? "json" : ctx.args.opt_or("format", "csv");
  if (format != "csv" && format != "json") throw UsageError("--format csv|json");
  auto entries = ctx.store().scan({});
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.address < b.address; });
  if (format == "csv")
    std::cout
        << "address,class,action,level,ttl_seconds,code,text,hits,source,first_seen,last_seen\n";
  for (const auto& e : entries) {
    if (format == "json") {
      std::cout << entry_json(e) << "\n";
    } else {
      std::cout << csv_field(e.address) << "," << e.cls << "," << e.action << "," << e.level << ","
                << (e.ttl_ms < 0 ? -1 : e.ttl_ms / 1000) << "," << csv_field(e.code) << ","
                << csv_field(e.text) << "," << e.hits << "," << e.source << ","
                << (e.first_ms ? utc_iso(e.first_ms) : "") << ","
                << (e.last_ms ? utc_iso(e.last_ms) : "") << "\n";
    }
  }
  return kOk;
}

int cmd_import(Context& ctx) {
  ctx.args.reject_unknown({"config", "json", "dry-run"});
  if (ctx.args.positional().size() != 1) throw UsageError("import FILE.csv ('-' for stdin)");
  std::string path = ctx.args.positional()[0];
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) throw UsageError("cannot read " + path);
    in = &file;
  }
  // Columns by header name; "address" is required, the rest (class, ttl_seconds, code, text)
  // are optional, so `export` output and a plain one-column list both import.
  std::vector<std::string> header, f;
  size_t lineno = 0, imported = 0;
  std::vector<std::string> errors;
  std::vector<OutcomeRecord> records;
  CsvReader reader(*in);
  while (reader.next(f)) {
    lineno = reader.line();
    if (!reader.error().empty()) {
      errors.push_back(path + ":" + std::to_string(lineno) + ": " + reader.error());
      break;
    }
    if (f.size() == 1 && (f[0].empty() || f[0][0] == '#')) continue;
    if (header.empty()) {
      if (f[0] == "address") {
        header = f;
        continue;
      }
      header = {"address"};
    }
    auto col = [&](const std::string& n) -> std::string {
      for (size_t i = 0; i < header.size() && i < f.size(); ++i)
        if (header[i] == n) return f[i];
      return "";
    };
    std::string why;
    auto a = normalize_address(col("address"), &why);
    if (!a) {
      errors.push_back(path + ":" + std::to_string(lineno) + ": " + why);
      continue;
    }
    auto cls = outcome_class_from(col("class").empty() ? "hard" : col("class"));
    if (!cls) {
      errors.push_back(path + ":" + std::to_string(lineno) + ": unknown class '" + col("class") +
                       "'");
      continue;
    }
    OutcomeRecord o = outcome_for_class(ctx.cfg(), a->address, *cls, col("code"), col("text"),
                                        EventContext{}, "import");
    std::string ttl = col("ttl_seconds");
    std::string action = col("action");
    if (action == "suppress_permanent" || ttl == "-1") {
      o.action = Action::suppress_permanent;
    } else {
      if (o.action != Action::defer) o.action = Action::suppress;
      if (!ttl.empty()) {
        long long s = std::atoll(ttl.c_str());
        if (s <= 0) {
          errors.push_back(path + ":" + std::to_string(lineno) + ": bad ttl_seconds '" + ttl + "'");
          continue;
        }
        o.ttl = Millis(s * 1000);
      }
    }
    o.reason = "imported";
    records.push_back(std::move(o));
  }
  // Nothing is written when any line is bad: fix the file and import again.
  for (const auto& e : errors) std::cerr << e << "\n";
  if (!errors.empty()) return kDataErr;
  if (!ctx.args.flag("dry-run"))
    for (const auto& o : records) {
      ctx.store().record(o);
      ++imported;
    }
  size_t count = ctx.args.flag("dry-run") ? records.size() : imported;
  if (ctx.json)
    std::cout << JsonObject()
                     .add(ctx.args.flag("dry-run") ? "valid" : "imported",
                          static_cast<int64_t>(count))
                     .str()
              << "\n";
  else
    std::cout << count << " addresses " << (ctx.args.flag("dry-run") ? "valid" : "imported")
              << "\n";
  return kOk;
}

int64_t since_ms_from(const Args& args, const std::string& def) {
  auto d = parse_duration(args.opt_or("since", def));
  if (!d) throw UsageError("--since expects a duration like 7d or 24h");
  return now_ms() - d->count();
}

int cmd_report(Context& ctx) {
  ctx.args.reject_unknown({"config", "json", "domain", "class", "since", "format", "address"});
  std::string format = ctx.json ? "json" : ctx.args.opt_or("format", "text");
  if (format != "text" && format != "csv" && format != "json")
    throw UsageError("--format text|csv|json");
  std::string domain = ctx.args.opt_or("domain", "");
  std::string cls = ctx.args.opt_or("class", "");
  std::string only = ctx.args.opt("address") ? need_address(*ctx.args.opt("address")) : "";
  if (!cls.empty() && !outcome_class_from(cls)) throw UsageError("unknown --class " + cls);
  auto events = ctx.store().events_since(since_ms_from(ctx.args, "7d"));
  if (format == "csv")
    std::cout << "timestamp_utc,recipient,domain,class,action,reply,source,queue_id,message_id,"
                 "rule,kind,verified\n";
  size_t n = 0;
  for (const auto& ev : events) {
    std::string addr = ev.get("addr");
    if (!domain.empty() && domain_of(addr) != domain) continue;
    if (!cls.empty() && ev.get("class") != cls) continue;
    if (!only.empty() && addr != only) continue;
    // Outcome texts hold the whole reply; manual ones may hold only a reason.
    std::string reply = ev.get("code");
    std::string text = ev.get("text");
    if (!text.empty())
      reply =
          (!reply.empty() && text.rfind(reply.substr(0, 3), 0) != 0) ? reply + " " + text : text;
    ++n;
    if (format == "csv") {
      std::cout << utc_iso(ev.ts_ms) << "," << csv_field(addr) << "," << domain_of(addr) << ","
                << ev.get("class") << "," << ev.get("action") << "," << csv_field(reply) << ","
                << ev.get("source") << "," << csv_field(ev.get("queue_id")) << ","
                << csv_field(ev.get("message_id")) << "," << ev.get("rule") << "," << ev.get("kind")
                << "," << ev.get("verified") << "\n";
    } else if (format == "json") {
      JsonObject o;
      o.add("timestamp", utc_iso(ev.ts_ms)).add("recipient", addr).add("domain", domain_of(addr));
      for (const auto& [k, v] : ev.fields)
        if (k != "ts" && k != "addr") o.add(k, v);
      std::cout << o.str() << "\n";
    } else {
      std::cout << utc_iso(ev.ts_ms) << " " << escape_control(addr) << " kind=" << ev.get("kind")
                << " class=" << ev.get("class") << " action=" << ev.get("action")
                << " source=" << ev.get("source")
                << (ev.get("queue_id").empty() ? "" : " queue_id=" + ev.get("queue_id"))
                << (ev.get("kind") == "gate" ? " result=" + ev.get("result") : "")
                << (ev.get("verified").empty() ? "" : " verified=" + ev.get("verified")) << "\n    "
                << escape_control(reply) << "\n";
    }
  }
  if (format == "text") std::cout << n << " events\n";
  return kOk;
}

int cmd_stats(Context& ctx) {
  ctx.args.reject_unknown({"config", "json", "since", "by", "domain"});
  std::string by = ctx.args.opt_or("by", "domain");
  if (by != "domain" && by != "class") throw UsageError("--by domain|class");
  auto st = ctx.store().stats(since_ms_from(ctx.args, "7d"), ctx.args.opt_or("domain", ""));
  std::map<std::string, std::map<std::string, int64_t>> rows;
  if (by == "domain") {
    rows = st;
  } else {
    for (const auto& [d, m] : st)
      for (const auto& [c, n] : m) rows[c]["count"] += n;
  }
  auto rate = [](int64_t part, int64_t total) {
    if (total == 0) return std::string("-");
    char buf[16];
    snprintf(buf, sizeof buf, "%.1f%%",
             100.0 * static_cast<double>(part) / static_cast<double>(total));
    return std::string(buf);
  };
  if (!ctx.json && by == "domain")
    std::cout << "domain total delivered hard soft reputation other delivered% bounce% block%\n";
  for (const auto& [key, m] : rows) {
    int64_t total = 0;
    for (const auto& [c, n] : m) total += n;
    auto g = [&](const std::string& c) {
      auto it = m.find(c);
      return it == m.end() ? int64_t(0) : it->second;
    };
    if (ctx.json) {
      JsonObject o;
      o.add(by, key).add("total", total);
      for (const auto& [c, n] : m) o.add(c, n);
      std::cout << o.str() << "\n";
    } else if (by == "domain") {
      int64_t other = total - g("delivered") - g("hard") - g("soft") - g("reputation");
      std::cout << key << " " << total << " " << g("delivered") << " " << g("hard") << " "
                << g("soft") << " " << g("reputation") << " " << other << " "
                << rate(g("delivered"), total) << " " << rate(g("hard") + g("soft"), total) << " "
                << rate(g("reputation"), total) << "\n";
    } else {
      std::cout << key << " " << total << "\n";
    }
  }
  return kOk;
}

void usage(std::ostream& o) {
  o << "usage: bouncegate [--config FILE] [--json] VERB [ARGS]\n"
       "verbs:\n"
       "  check-config                       validate the configuration (exit 0 or 78)\n"
       "  classify [--command C] [REPLY...]  classify SMTP replies (or one per stdin line)\n"
       "  record ADDR --reply TEXT [--command C] [--source S]\n"
       "  gate ADDR [--list ID] [--dry-run]  the milter's RCPT decision, lease bump included\n"
       "  show ADDR | remove ADDR\n"
       "  list [--class C] [--domain D]\n"
       "  add ADDR [--class C] [--ttl 7d | --permanent] [--reason TEXT]\n"
       "  import FILE.csv | export [--format csv|json]\n"
       "  report [--domain D] [--class C] [--since 7d] [--format text|csv|json]\n"
       "  stats [--since 7d] [--by domain|class]\n"
       "  token seal --list ID ADDR | token open TOKEN   one-click unsubscribe tokens\n"
       "  ingest [--dry-run] [VERP-RCPT] < MSG  record a DSN/ARF report read on stdin\n"
       "exit codes: 0 ok, 1 not found, 64 usage, 65 bad input, 69 Redis unavailable,\n"
       "            75 temporary failure, 78 bad configuration\n";
}

}  // namespace

}  // namespace bouncegate::cli

int main(int argc, char** argv) {
  using namespace bouncegate;
  using namespace bouncegate::cli;
  std::vector<std::string> all(argv + 1, argv + argc);
  // Global options come before the verb.
  std::string config_path = kDefaultConfigPath;
  if (const char* env = std::getenv("BOUNCEGATE_CONFIG")) config_path = env;
  bool json = false;
  size_t i = 0;
  for (; i < all.size(); ++i) {
    if (all[i] == "--config" && i + 1 < all.size()) {
      config_path = all[++i];
    } else if (all[i].rfind("--config=", 0) == 0) {
      config_path = all[i].substr(9);
    } else if (all[i] == "--json") {
      json = true;
    } else if (all[i] == "--help" || all[i] == "-h") {
      usage(std::cout);
      return kOk;
    } else {
      break;
    }
  }
  if (i >= all.size()) {
    usage(std::cerr);
    return kUsage;
  }
  std::string verb = all[i];
  std::vector<std::string> rest(all.begin() + static_cast<long>(i) + 1, all.end());
  const std::map<std::string, Verb> verbs = {
      {"check-config", cmd_check_config},
      {"classify", cmd_classify},
      {"record", cmd_record},
      {"gate", cmd_gate},
      {"show", cmd_show},
      {"list", cmd_list},
      {"add", cmd_add},
      {"remove", cmd_remove},
      {"import", cmd_import},
      {"export", cmd_export},
      {"report", cmd_report},
      {"stats", cmd_stats},
      {"token", cmd_token},
      {"ingest", cmd_ingest},
  };
  auto it = verbs.find(verb);
  if (it == verbs.end()) {
    std::cerr << "bouncegate: unknown verb '" << verb << "'\n";
    usage(std::cerr);
    return kUsage;
  }
  try {
    Context ctx{Args(rest, kFlags), config_path, json, nullptr, nullptr};
    if (auto c = ctx.args.opt("config")) ctx.config_path = *c;
    ctx.json = ctx.json || ctx.args.flag("json");
    return it->second(ctx);
  } catch (const UsageError& e) {
    std::cerr << "bouncegate " << verb << ": " << e.what() << "\n";
    return kUsage;
  } catch (const ConfigError& e) {
    std::cerr << "bouncegate: " << e.what() << "\n";
    return kConfig;
  } catch (const StoreError& e) {
    std::cerr << "bouncegate: suppression store unavailable: " << e.what() << "\n";
    return kUnavailable;
  } catch (const std::exception& e) {
    std::cerr << "bouncegate " << verb << ": " << e.what() << "\n";
    return kUsage;
  }
}
