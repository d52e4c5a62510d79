// Gate decision lines and store health transitions of bouncegate-milter.
#include "milter/gate_log.hpp"

#include <atomic>

#include "core/lease_text.hpp"
#include "core/log.hpp"

namespace bouncegate::milter {

namespace {
std::atomic<bool> g_store_down{false};
}  // namespace

void log_gate_decision(const std::string& log_id, const std::string& rcpt,
                       std::string_view decision, const GateDecision& d, const std::string& reply) {
  std::string line = "rcpt=<" + rcpt + "> decision=" + std::string(decision);
  if (d.result == GateResult::unsubscribed) {
    line += " class=unsubscribe list=" + log_quote(d.list);
  } else if (d.entry) {
    line += " class=" + log_quote(to_string(d.entry->cls)) +
            " level=" + std::to_string(d.entry->level) + " lease=" + lease_text(d.entry->ttl_ms);
  }
  LogLevel level = d.result == GateResult::pass ? LogLevel::debug : LogLevel::info;
  if (reply.empty())
    log_event(level, log_id, line);
  else
    log_event(level, log_id, line, {{"reply", reply}});
}

void note_store_failed(const std::string& log_id, const std::string& what, std::string_view mode) {
  if (!g_store_down.exchange(true))
    log_event(LogLevel::warning, log_id, "suppression store unavailable",
              {{"error", what}, {"on_store_error", std::string(mode)}});
}

void note_store_answered() {
  if (g_store_down.exchange(false))
    log_event(LogLevel::notice, "", "suppression store reachable again");
}

}  // namespace bouncegate::milter
