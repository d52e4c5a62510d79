// Report filtering and the JSON form of an event.
#include "core/event_filter.hpp"

#include "core/address.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"

namespace bouncegate {

bool EventFilter::keep(const Event& ev) const {
  if (ev.ts_ms < since || ev.ts_ms > until) return false;
  // A marker for gate.local_filter (record_batch), not evidence: the import's own summary
  // event is what an operator reads.
  if (ev.get("kind") == "import-batch") return false;
  const std::string addr = ev.get("addr");
  if (!domain.empty() && domain_of(addr) != domain) return false;
  if (!cls.empty() && ev.get("class") != cls) return false;
  if (!source.empty()) {
    const std::string s = ev.get("source");
    if (s != source && s.rfind(source + ":", 0) != 0) return false;
  }
  if (!address.empty() && addr != address) return false;
  return true;
}

std::string event_json(const Event& ev) {
  const std::string addr = ev.get("addr");
  JsonObject o;
  o.add("timestamp", utc_iso(ev.ts_ms)).add("recipient", addr).add("domain", domain_of(addr));
  for (const auto& [k, v] : ev.fields)
    if (k != "ts" && k != "addr") o.add(k, v);
  return o.str();
}

}  // namespace bouncegate
