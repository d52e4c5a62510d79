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

std::optional<int64_t> parse_rfc3339(std::string_view text) {
  if (text.size() < 20 || text.size() > 40 || (text[10] != 'T' && text[10] != 't'))
    return std::nullopt;
  auto base = parse_utc_time(std::string(text.substr(0, 19)) + "Z");
  if (!base) return std::nullopt;
  size_t i = 19;
  int64_t ms = 0;
  if (text[i] == '.') {
    int digits = 0;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits)
      if (digits < 3) ms = ms * 10 + (text[i] - '0');
    if (digits == 0) return std::nullopt;
    for (int d = digits; d < 3; ++d) ms *= 10;
  }
  if (i >= text.size()) return std::nullopt;
  int64_t offset_min = 0;
  if (text[i] == 'Z' || text[i] == 'z') {
    ++i;
  } else if (text[i] == '+' || text[i] == '-') {
    int sign = text[i] == '-' ? -1 : 1;
    if (text.size() != i + 6 || text[i + 3] != ':') return std::nullopt;
    auto two = [&](size_t at) -> int {
      char a = text[at], b = text[at + 1];
      if (a < '0' || a > '9' || b < '0' || b > '9') return -1;
      return (a - '0') * 10 + (b - '0');
    };
    int hh = two(i + 1), mm = two(i + 4);
    if (hh < 0 || mm < 0 || hh > 23 || mm > 59) return std::nullopt;
    offset_min = sign * (hh * 60 + mm);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  return *base + ms - offset_min * 60'000;
}

}  // namespace bouncegate
