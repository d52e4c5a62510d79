// What a suppression-store failure turns into, for every daemon (milter, relay): a deliberate,
// configured temporary refusal so the MTA retries, or the recipient passed ungated. Shadow
// mode never refuses. Each daemon asks here and only logs and answers what it is told.
#pragma once

#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/reply_policy.hpp"

namespace bouncegate {

struct StoreFailureVerdict {
  bool refuse = true;     // answer `reply`; false: go on ungated
  SmtpReplyText reply;    // a 4xx
  std::string_view mode;  // "tempfail" or "accept", for the log line
};

StoreFailureVerdict store_failure_verdict(StoreErrorMode mode, bool shadow,
                                          std::string_view reply_text = kDefaultStoreErrorReply);

}  // namespace bouncegate
