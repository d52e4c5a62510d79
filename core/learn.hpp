// From an observed reply to a store record: classify with the configured rules, then look up
// the class's configured action. Relay, ingest, web and CLI all learn through here.
#pragma once

#include <string>

#include "core/config.hpp"
#include "core/reply.hpp"
#include "core/store.hpp"

namespace bouncegate {

struct Learned {
  OutcomeRecord record;
  Classification classification;
};

// `address` must be normalised. The stored code is "550 5.1.1" (basic and enhanced).
Learned learn_from_reply(const Config& cfg, const std::string& address, SmtpCommand command,
                         const Reply& reply, const EventContext& ctx);

// An outcome whose class is already known (ARF complaint, ACS status, CLI add).
OutcomeRecord outcome_for_class(const Config& cfg, const std::string& address, OutcomeClass cls,
                                const std::string& code, const std::string& text,
                                const EventContext& ctx, const std::string& rule);

}  // namespace bouncegate
