// Which recorded events a report shows (window, domain, class, source, address) and the JSON
// form of one event: one definition for `bouncegate report` and the HTTP API's /report.
#pragma once

#include <cstdint>
#include <string>

#include "core/store_records.hpp"

namespace bouncegate {

struct EventFilter {
  std::string domain, cls, source, address;
  int64_t since = 0, until = 0;
  // `source` "api" matches every API token's changes ("api:NAME") as well.
  bool keep(const Event& ev) const;
};

// {"timestamp": UTC, "recipient", "domain", and every field of the event}.
std::string event_json(const Event& ev);

}  // namespace bouncegate
