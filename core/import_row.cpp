// Import rows to records: the address (mailbox or *@domain), class, times, lease, list.
#include "core/import_row.hpp"

#include <cstdlib>

#include "core/address.hpp"
#include "core/clock.hpp"
#include "core/escape.hpp"
#include "core/json_parse.hpp"
#include "core/learn.hpp"

namespace bouncegate {

std::optional<Row> row_from_json_line(const std::string& line, std::string* why) {
  auto v = parse_json(line, why);
  if (!v || !v->is_object()) {
    if (v) *why = "expected a JSON object";
    return std::nullopt;
  }
  Row row;
  for (const auto& [k, m] : v->members) {
    if (m.type == JsonValue::Type::string || m.type == JsonValue::Type::number)
      row[k] = m.text;
    else if (m.type == JsonValue::Type::boolean)
      row[k] = m.boolean ? "true" : "false";
  }
  return row;
}

std::optional<OutcomeRecord> record_for_row(const Config& cfg, const Row& row, std::string* why) {
  auto col = [&](const char* n) {
    auto it = row.find(n);
    return it == row.end() ? std::string() : it->second;
  };
  auto a = normalize_entry_address(col("address"), why);
  if (!a) return std::nullopt;
  std::string cls_name = col("class").empty() ? "hard" : col("class");
  auto cls = outcome_class_from(cls_name);
  if (!cls) {
    *why = "unknown class '" + escape_control(cls_name) + "'";
    return std::nullopt;
  }
  OutcomeRecord o = operator_entry(cfg, a->address, *cls, RecordOrigin::import);
  o.code = col("code");
  o.text = col("text");
  // A row from export keeps its (possibly empty) reason; a plain list says where it came from.
  o.reason = row.count("reason") ? col("reason") : "imported";
  std::string when = col("unsubscribed_at").empty() ? col("first_seen") : col("unsubscribed_at");
  if (!when.empty()) {
    auto ms = parse_utc_time(when);
    if (!ms) {
      *why = "bad time '" + escape_control(when) + "' (2026-11-27T10:00:00Z)";
      return std::nullopt;
    }
    o.first_seen_ms = *ms;
  }
  if (!col("last_seen").empty()) {
    auto ms = parse_utc_time(col("last_seen"));
    if (!ms) {
      *why = "bad time '" + escape_control(col("last_seen")) + "' (2026-11-27T10:00:00Z)";
      return std::nullopt;
    }
    o.last_seen_ms = *ms;
  }
  const std::string ttl = col("ttl_seconds"), action = col("action");
  const std::string sub = col("subdomains");
  if (sub != "" && sub != "0" && sub != "1" && sub != "true" && sub != "false") {
    *why = "subdomains is 1, 0, true or false, not '" + escape_control(sub) + "'";
    return std::nullopt;
  }
  o.subdomains = sub == "1" || sub == "true";
  if (o.subdomains && !is_domain_entry(o.address)) {
    *why = "subdomains goes with a domain entry '*@domain'";
    return std::nullopt;
  }
  if (o.action == Action::reject && is_domain_entry(o.address)) {
    *why = "a domain entry cannot be an unsubscription";
    return std::nullopt;
  }
  if (o.action == Action::reject) {
    o.list = col("list").empty() ? "*" : col("list");
    return o;
  }
  if (!col("list").empty()) {
    *why = "a list goes with class unsubscribe, not " + cls_name;
    return std::nullopt;
  }
  if (action == "suppress_permanent" || ttl == "-1") {
    o.action = Action::suppress_permanent;
  } else if (!ttl.empty() && o.action != Action::suppress_permanent) {
    char* end = nullptr;
    long long s = std::strtoll(ttl.c_str(), &end, 10);
    if (s <= 0 || *end != '\0' || s > 3650ll * 86'400) {  // at most 10 years, as lease_ladder
      *why = "bad ttl_seconds '" + escape_control(ttl) + "'";
      return std::nullopt;
    }
    o.ttl = Millis(s * 1000);
  }
  return o;
}

}  // namespace bouncegate
