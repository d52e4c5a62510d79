// What the milter process logs about its RCPT gate, shared by the libmilter callbacks and the
// policy service: one line per decision, and store health transitions logged once per burst.
#pragma once

#include <string>
#include <string_view>

#include "core/store_records.hpp"

namespace bouncegate::milter {

// "ID: rcpt=<a@b> decision=reject class=hard level=2 lease=96h reply=..."; `reply` is what the
// client was told (empty when nothing was refused).
void log_gate_decision(const std::string& log_id, const std::string& rcpt,
                       std::string_view decision, const GateDecision& d,
                       const std::string& reply = "");

// The first failure of a burst is logged as a warning, the first success after it a notice.
void note_store_failed(const std::string& log_id, const std::string& what, std::string_view mode);
void note_store_answered();

}  // namespace bouncegate::milter
