// Change webhooks: a thread of bouncegate-web that reads the event stream through one consumer
// group per endpoint (core/change_feed), POSTs each change signed (core/webhook_change), and
// acknowledges it only after a 2xx. Failures stay pending in Redis and are retried with
// exponential backoff; after webhooks.max_attempts they go to the dead-letter stream. It also
// runs the expiry sweep (the due-time index), so an expiry is reported without a key scan,
// and the push to ACS's customer-managed suppression lists (web/acs_push.hpp).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "web/acs_push.hpp"
#include "web/http_handler.hpp"

namespace bouncegate::web {

class WebhookDeliverer {
 public:
  using Snapshot = std::function<std::shared_ptr<const WebState>()>;
  explicit WebhookDeliverer(Snapshot snapshot) : snapshot_(std::move(snapshot)) {}
  ~WebhookDeliverer() { stop(); }
  void start();
  void stop();

 private:
  void run();
  // One pass over one consumer group (webhook:NAME): due retries, then new changes, each
  // handed to `attempt` (true: done with, acknowledged). Throws StoreError when Redis failed.
  void pass(const WebState& st, const std::string& name,
            const std::function<bool(const Event&)>& attempt);
  // Sends one event; true when it is done with (delivered, or not a change for this endpoint).
  bool attempt(const WebState& st, const WebhookEndpoint& ep, const Event& ev);

  Snapshot snapshot_;
  std::atomic<bool> stopping_{false};
  AcsListPusher acs_{&stopping_};
  std::thread thread_;
  std::set<std::string> groups_ready_;
  std::string consumer_;
};

}  // namespace bouncegate::web
