// Helpers of the admin CLI used by more than one verb: arguments, the lazily opened config and
// store, address checks, entry printing (escaped) and time options.
#include <algorithm>
#include <iostream>

#include "cli/cli.hpp"
#include "core/address.hpp"
#include "core/escape.hpp"
#include "core/json.hpp"
#include "core/lease_text.hpp"
#include "core/log.hpp"

namespace bouncegate::cli {

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

const Config& Context::cfg() {
  if (!config) config = load_config(config_path);
  return *config;
}

SuppressionStore& Context::store() {
  if (!store_) store_ = std::make_unique<SuppressionStore>(cfg().redis, cfg().suppression);
  return *store_;
}

std::string need_address(const std::string& raw) {
  std::string why;
  auto a = normalize_address(raw, &why);
  if (!a) throw UsageError("'" + escape_control(raw) + "' is not a usable address: " + why);
  return a->address;
}

std::string need_entry_address(const std::string& raw) {
  std::string why;
  auto a = normalize_entry_address(raw, &why);
  if (!a)
    throw UsageError("'" + escape_control(raw) + "' is not a usable address or *@domain: " + why);
  return a->address;
}

void print_entry_text(const Entry& e) {
  std::cout << escape_control(e.address) << "\n  class=" << to_string(e.cls)
            << " action=" << to_string(e.action) << " level=" << e.level
            << " lease=" << lease_text(e.ttl_ms)
            << (e.ttl_ms >= 0 ? " expires=" + utc_iso(now_ms() + e.ttl_ms) : std::string())
            << "\n  code=" << log_quote(e.code) << " hits=" << e.hits << " source=" << e.source
            << "\n  first=" << (e.first_ms ? utc_iso(e.first_ms) : "-")
            << " last=" << (e.last_ms ? utc_iso(e.last_ms) : "-")
            << "\n  text=" << escape_control(e.text) << "\n";
  if (!e.reason.empty()) std::cout << "  reason=" << escape_control(e.reason) << "\n";
  if (is_domain_entry(e.address))
    std::cout << "  covers=" << (e.subdomains ? "the domain and its sub-domains" : "the domain")
              << "\n";
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

int64_t time_option(const Args& args, const std::string& name, int64_t def_ms) {
  auto v = args.opt(name);
  if (!v) return def_ms;
  if (auto d = parse_duration(*v)) return now_ms() - d->count();
  auto ms = parse_utc_time(*v);
  if (!ms)
    throw UsageError("--" + name + " expects a duration (7d, 24h) or a UTC time (2026-11-27, " +
                     "2026-11-27T10:00:00Z), not '" + escape_control(*v) + "'");
  return *ms;
}

std::string outranked_as_json(const std::vector<Classification>& evidence) {
  std::string out = "[";
  for (size_t i = 1; i < evidence.size(); ++i)
    out += (i > 1 ? "," : "") + JsonObject()
                                    .add("rule", evidence[i].rule_id)
                                    .add("class", to_string(evidence[i].cls))
                                    .add("phrase", evidence[i].matched_text)
                                    .str();
  return out + "]";
}

std::string outranked_as_text(const std::vector<Classification>& evidence) {
  if (evidence.size() < 2) return "(no other rule matched)";
  std::string out;
  for (size_t i = 1; i < evidence.size(); ++i) {
    const auto& e = evidence[i];
    if (i > 1) out += "\n              ";
    out += e.rule_id + " -> " + std::string(to_string(e.cls));
    if (!e.matched_text.empty()) out += " (\"" + escape_control(e.matched_text) + "\")";
  }
  return out;
}

}  // namespace bouncegate::cli
