// The figures of the per-domain counters, one definition for every view (CLI stats, the HTTP
// API's /stats): what counts as an outcome, a bounce and a block.
#pragma once

#include <cstdint>
#include <string>

#include "core/json.hpp"
#include "core/outcome.hpp"

namespace bouncegate {

// Counters that are not delivery outcomes (unverified reports, operator adds and imported rows)
// are kept out of the totals and rates.
struct Tally {
  int64_t total = 0, delivered = 0, hard = 0, soft = 0, reputation = 0, blocks = 0, unverified = 0,
          entries = 0;
  void add(const std::string& c, int64_t n) {
    if (c == "unverified") {
      unverified += n;
      return;
    }
    if (c == "manual" || c == "imported") {
      entries += n;
      return;
    }
    total += n;
    if (c == "delivered") delivered += n;
    if (c == "hard") hard += n;
    if (c == "soft") soft += n;
    if (c == "reputation") reputation += n;
    if (auto k = outcome_class_from(c); k && counts_as_block(*k)) blocks += n;
  }
  int64_t other() const { return total - delivered - hard - soft - reputation; }
  int64_t bounces() const { return hard + soft; }
};

// The JSON members of one tally (total, delivered, hard, soft, reputation, blocks, other,
// unverified, operator_entries).
inline void add_tally_fields(JsonObject& o, const Tally& t) {
  o.add("total", t.total).add("delivered", t.delivered).add("hard", t.hard).add("soft", t.soft);
  o.add("reputation", t.reputation).add("blocks", t.blocks).add("other", t.other());
  o.add("unverified", t.unverified);
  o.add("operator_entries", t.entries);
}

}  // namespace bouncegate
