// Fleet-wide upstream connection slots in Redis (core/lua/slots.lua), used by the relay's pool.
#include "relay/fleet_slots.hpp"

#include <unistd.h>

#include <vector>

#include "core/client_assertion.hpp"  // random_uuid
#include "core/host_name.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

namespace bouncegate {

using asio::awaitable;

namespace {
std::string process_name() {
  return host_name() + ":" + std::to_string(getpid()) + ":" + random_uuid().substr(0, 8) + ":";
}
}  // namespace

FleetSlots::FleetSlots(RelayRuntime& rt) : rt_(rt), prefix_(process_name()) {}

int FleetSlots::max() const {
  return rt_.cfg->relay.upstream.fleet_max_connections;
}

awaitable<std::optional<std::string>> FleetSlots::claim() {
  std::string name = prefix_ + std::to_string(++serial_);
  auto& metrics = Metrics::instance();
  bool granted = false;
  try {
    auto store = rt_.store;
    auto ask = [store, name, cap = max()] {
      return store->claim_upstream_slot(name, cap, kFleetSlotTtl);
    };
    granted = co_await rt_.offload(ask);
  } catch (const std::exception& e) {
    metrics.inc("bouncegate_relay_upstream_fleet_slots_total", {{"result", "store_error"}});
    log_event(LogLevel::warning, "", "fleet connection cap not checked: Redis unreachable",
              {{"error", e.what()}, {"then", "upstream.max_connections alone"}});
    co_return std::string();
  }
  if (!granted) {
    metrics.inc("bouncegate_relay_upstream_fleet_slots_total", {{"result", "full"}});
    co_return std::nullopt;
  }
  metrics.inc("bouncegate_relay_upstream_fleet_slots_total", {{"result", "granted"}});
  held_.insert(name);
  metrics.set_gauge("bouncegate_relay_upstream_fleet_slots_held",
                    static_cast<double>(held_.size()));
  co_return name;
}

void FleetSlots::release(const std::string& slot) {
  if (held_.erase(slot) == 0) return;
  Metrics::instance().set_gauge("bouncegate_relay_upstream_fleet_slots_held",
                                static_cast<double>(held_.size()));
  // Fire and forget: a release that fails lapses after kFleetSlotTtl.
  asio::post(rt_.blocking, [store = rt_.store, slot] {
    try {
      store->release_upstream_slots({slot});
    } catch (const std::exception&) {
    }
  });
}

awaitable<void> FleetSlots::renew() {
  if (held_.empty()) co_return;
  auto store = rt_.store;
  // Only slots still there are renewed, so a release that overtakes this call wins; after a
  // failed renewal the slots of connections still open are added back.
  auto push = [store, readd = renew_failed_,
               names = std::vector<std::string>(held_.begin(), held_.end())] {
    store->renew_upstream_slots(names, kFleetSlotTtl, readd);
    return true;
  };
  try {
    co_await rt_.offload(push);
    renew_failed_ = false;
  } catch (const std::exception&) {
    renew_failed_ = true;  // Redis down: the slots lapse unless it returns within kFleetSlotTtl
  }
}

void FleetSlots::release_all() {
  if (held_.empty()) return;
  try {
    rt_.store->release_upstream_slots(std::vector<std::string>(held_.begin(), held_.end()));
  } catch (const std::exception&) {
  }
  held_.clear();
}

}  // namespace bouncegate
