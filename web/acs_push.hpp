// The push of bouncegate's permanent decisions to ACS's customer-managed suppression lists
// (acs.suppression_lists.push): one consumer group on the change stream, like a webhook, so a
// change is acknowledged only after every target list took it.
#pragma once

#include <memory>
#include <string>

#include "core/arm_client.hpp"
#include "core/store_records.hpp"
#include "web/http_handler.hpp"

namespace bouncegate::web {

// The consumer group's name after "webhook:" (its dead letters: bg:webhook:acs-push:dead).
inline constexpr const char* kAcsPushGroup = "acs-push";

class AcsListPusher {
 public:
  // True when the change is done with: pushed to every list, or nothing to push.
  bool attempt(const WebState& st, const Event& ev);

 private:
  std::shared_ptr<const Config> built_for_;
  std::unique_ptr<ArmClient> arm_;
};

}  // namespace bouncegate::web
