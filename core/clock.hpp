// Wall-clock time as the store and every report use it: milliseconds since the epoch, shown
// and read as UTC ISO 8601.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bouncegate {

int64_t now_ms();
// "2026-11-27T10:00:00Z"
std::string utc_iso(int64_t ms);
// "2026-11-27", "2026-11-27T10:00Z" or "2026-11-27T10:00:00Z" (UTC) in ms; nullopt otherwise.
std::optional<int64_t> parse_utc_time(std::string_view text);
// RFC 3339 date-time as providers send it: "2026-11-27T10:00:00Z", with a fraction of any
// length ("...00.1234567Z") and/or an offset ("+00:00", "-05:30"); ms since the epoch.
std::optional<int64_t> parse_rfc3339(std::string_view text);

}  // namespace bouncegate
