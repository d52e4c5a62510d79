// The push of bouncegate's permanent decisions to ACS's customer-managed suppression lists
// (acs.suppression_lists.push): one consumer group on the change stream, like a webhook, so a
// change is acknowledged only after every target list took it.
#pragma once

#include <atomic>
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
  // `stop`: the deliverer's stop flag, which ends a wait for a retry at once.
  explicit AcsListPusher(const std::atomic<bool>* stop) : stop_(stop) {}
  // True when the change is done with: pushed to every list, or nothing to push.
  bool attempt(const WebState& st, const Event& ev);

 private:
  // Attempts per request within one pass; a change that still fails stays pending and is
  // retried with the webhooks' backoff (a pass is never held for minutes).
  static constexpr int kPushAttempts = 2;
  const std::atomic<bool>* stop_;
  std::shared_ptr<const Config> built_for_;
  std::unique_ptr<ArmClient> arm_;
};

}  // namespace bouncegate::web
