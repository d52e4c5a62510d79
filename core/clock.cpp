// UTC time helpers: the clock, ISO 8601 output and the strict input forms the CLI accepts.
#include "core/clock.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace bouncegate {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string utc_iso(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  tm g;
  gmtime_r(&t, &g);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &g);
  return buf;
}

std::optional<int64_t> parse_utc_time(std::string_view text) {
  std::string s(text);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, used = 0;
  bool ok = false;
  if (s.size() == 10 && sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) == 3 && used == 10)
    ok = true;
  else if (s.size() == 20 &&
           sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &used) ==
               6 &&
           used == 20)
    ok = true;
  else if (s.size() == 17 &&
           sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &used) == 5 &&
           used == 17)
    ok = true;
  if (!ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  tm t{};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = sec;
  return static_cast<int64_t>(timegm(&t)) * 1000;
}

}  // namespace bouncegate
