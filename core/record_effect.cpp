// What recording an outcome can change (see the header); core/lua/record.lua acts on it.
#include "core/record_effect.hpp"

namespace bouncegate {

bool counts_toward_escalation(const SuppressionConfig& sup, const OutcomeRecord& o) {
  return sup.escalation.count(o.cls) && o.action == Action::record && o.about_mailbox &&
         o.origin == RecordOrigin::outcome && o.counts_for_domain && o.verified != "no";
}

bool may_change_gate(const SuppressionConfig& sup, const OutcomeRecord& o) {
  // record.lua: only suppress, suppress_permanent, defer and reject write an entry or an
  // unsubscribe; a record-only outcome writes events and counters, and delivered_ms on an
  // existing entry (shown, never read by the gate), unless it escalates.
  if (o.action == Action::ignore) return false;
  if (o.action != Action::record) return true;
  return o.steps_lease || counts_toward_escalation(sup, o);
}

}  // namespace bouncegate
