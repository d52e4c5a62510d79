// What recording an outcome can change: whether it counts toward soft-bounce escalation, and
// whether it can change what the gate answers for its address. One place for both tests.
#pragma once

#include "core/config.hpp"
#include "core/store_records.hpp"

namespace bouncegate {

// A soft outcome about the recipient's own mailbox, from delivery, of a class with a
// suppression.escalation policy: never one about the sender, the message or the network.
bool counts_toward_escalation(const SuppressionConfig& sup, const OutcomeRecord& o);

// True when recording `o` may make, step or end an entry or an unsubscribe (what the gate
// reads). A delivery or a record-only outcome that does not escalate changes nothing the
// gate reads: a relay session need not wait for it before gating its next recipient.
bool may_change_gate(const SuppressionConfig& sup, const OutcomeRecord& o);

}  // namespace bouncegate
