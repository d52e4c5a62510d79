// The store-failure decision (core/store_failure.hpp).
#include "core/store_failure.hpp"

namespace bouncegate {

StoreFailureVerdict store_failure_verdict(StoreErrorMode mode, bool shadow,
                                          std::string_view reply_text) {
  StoreFailureVerdict v;
  v.refuse = mode == StoreErrorMode::tempfail && !shadow;
  v.mode = v.refuse ? "tempfail" : "accept";
  v.reply = split_reply_line(std::string(reply_text));
  return v;
}

}  // namespace bouncegate
