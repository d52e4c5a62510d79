// Entries and unsubscriptions as JSON.
#include "core/entry_json.hpp"

#include "core/address.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/lease_text.hpp"

namespace bouncegate {

std::string entry_json(const Entry& e) {
  JsonObject o;
  o.add("address", e.address)
      .add("class", to_string(e.cls))
      .add("action", to_string(e.action))
      .add("level", e.level);
  o.add("ttl_seconds", e.ttl_ms < 0 ? int64_t(-1) : e.ttl_ms / 1000);
  o.add("lease", lease_text(e.ttl_ms));
  o.add("expires_at", e.ttl_ms < 0 ? std::string() : utc_iso(now_ms() + e.ttl_ms));
  o.add("code", e.code).add("text", e.text).add("hits", e.hits).add("source", e.source);
  o.add("first_seen", e.first_ms ? utc_iso(e.first_ms) : "")
      .add("last_seen", e.last_ms ? utc_iso(e.last_ms) : "");
  o.add("reason", e.reason);
  if (is_domain_entry(e.address)) o.add("subdomains", e.subdomains);
  if (e.delivered_ms) o.add("delivered_after", utc_iso(e.delivered_ms));
  return o.str();
}

std::string unsubscriptions_json(const std::vector<SuppressionStore::Unsubscription>& us) {
  std::string u = "{";
  for (const auto& x : us)
    u += (u.size() > 1 ? "," : "") + json_string(x.list) + ":" +
         JsonObject().add("at", utc_iso(x.at_ms)).add("source", x.source).str();
  return u + "}";
}

}  // namespace bouncegate
