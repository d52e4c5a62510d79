// One row of an import (CLI import, the HTTP API's NDJSON import) to the record it asks for:
// the same columns as export writes, checked the same way wherever the row comes from.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/store_records.hpp"

namespace bouncegate {

// One row of an import, by column name, from either format (CSV header or JSON member names).
using Row = std::map<std::string, std::string>;

// One JSON line (an object; strings, numbers and booleans as text) as a row; nullopt with
// `why` set for anything else.
std::optional<Row> row_from_json_line(const std::string& line, std::string* why);

// The record a row asks for, or nullopt with `why` set. The class's configured action decides,
// as for every outcome; ttl_seconds -1 or action suppress_permanent make it permanent.
std::optional<OutcomeRecord> record_for_row(const Config& cfg, const Row& row, std::string* why);

}  // namespace bouncegate
