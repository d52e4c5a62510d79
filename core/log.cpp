// journald-friendly logging: "<6>ID: message key=value ..." or JSON lines.
#include "core/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "core/escape.hpp"

namespace bouncegate {
namespace {

struct LogState {
  // Read without the lock on every call (threads log while a reload reconfigures).
  std::atomic<bool> json{false};
  std::atomic<int> max_level{6};
  std::string program = "bouncegate";
  std::mutex mu;
};
LogState& state() {
  static LogState s;
  return s;
}

std::string json_escape(std::string_view v) {
  std::string o;
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o;
}

}  // namespace

void log_configure(bool json, std::string_view level, std::string_view program) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  s.json = json;
  s.program = program;
  s.max_level = level == "debug"     ? 7
                : level == "notice"  ? 5
                : level == "warning" ? 4
                : level == "error"   ? 3
                                     : 6;
}

std::string log_quote(std::string_view v) {
  bool plain = !v.empty() && !has_control(v);
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=') plain = false;
  if (plain) return std::string(v);
  std::string o = "\"";
  for (char c : escape_control(v)) {
    if (c == '"') o += '\\';
    o += c;
  }
  return o + "\"";
}

void log_event(LogLevel level, std::string_view id, std::string_view message,
               std::initializer_list<std::pair<std::string_view, std::string>> fields) {
  auto& s = state();
  int lv = static_cast<int>(level);
  if (lv > s.max_level) return;
  std::string line = "<" + std::to_string(lv) + ">";
  if (s.json) {
    std::string program;
    {
      std::lock_guard lock(s.mu);
      program = s.program;
    }
    line += "{\"program\":\"" + json_escape(program) + "\"";
    if (!id.empty()) line += ",\"id\":\"" + json_escape(id) + "\"";
    line += ",\"msg\":\"" + json_escape(message) + "\"";
    for (const auto& [k, v] : fields)
      line += ",\"" + json_escape(k) + "\":\"" + json_escape(v) + "\"";
    line += "}";
  } else {
    // Messages and ids may quote the network (addresses, replies): one escaping for all.
    if (!id.empty()) line += escape_control(id) + ": ";
    line += escape_control(message);
    for (const auto& [k, v] : fields) line += " " + std::string(k) + "=" + log_quote(v);
  }
  line += '\n';
  std::lock_guard lock(s.mu);
  fwrite(line.data(), 1, line.size(), stderr);
  fflush(stderr);
}

}  // namespace bouncegate
