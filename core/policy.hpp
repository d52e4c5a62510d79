// Per-sender policies (config `policies`): which one applies to a transaction, and the classes
// it lets through, as the gate script takes them. One lookup per transaction, no Redis call.
#pragma once

#include <string>
#include <string_view>

#include "core/config.hpp"

namespace bouncegate {

// The first policy whose sender globs match `sender` or whose lists include `list`; nullptr
// when none does.
const SenderPolicy* policy_for(const std::vector<SenderPolicy>& policies, std::string_view sender,
                               std::string_view list);

// The sender a policy is matched on: the canonical form, but only when the sender was written
// that way (ASCII case and angle brackets aside). A sender that canonicalises to a policy's
// address from another spelling (full-width letters mapped by UTS #46, a comment, a trailing
// dot) is a different address to the MTA and gets no policy: "" is returned.
std::string policy_sender(std::string_view raw, const std::string& canonical);

// The bypass argument of the gate script: ",unsubscribe,complaint," ("" for no policy).
std::string gate_bypass(const SenderPolicy* policy);

}  // namespace bouncegate
