// The fleet-wide cap on upstream connections (relay.upstream.fleet_max_connections): one slot
// in Redis per open connection, claimed before connecting, renewed every second, given back on
// close.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "relay/server.hpp"
#include "relay/upstream.hpp"

namespace bouncegate {

// A slot this relay does not renew lapses after this long (a relay that died, a lost release).
inline constexpr Millis kFleetSlotTtl{std::chrono::seconds(30)};

class FleetSlots : public SharedConnectionSlots {
 public:
  explicit FleetSlots(RelayRuntime& rt);
  int max() const override;
  // Redis unreachable: "" (the relay's own max_connections decides), logged and counted.
  asio::awaitable<std::optional<std::string>> claim() override;
  void release(const std::string& slot) override;
  // Pushes the lapse time of every slot held forward (the sweep loop, once a second).
  asio::awaitable<void> renew();
  // At exit: every slot still held is given back at once instead of lapsing.
  void release_all();

 private:
  RelayRuntime& rt_;
  std::string prefix_;  // host:pid:nonce: of this process (containers share host names and pids)
  bool renew_failed_ = false;  // the last renewal did not reach Redis: the next one re-adds
  uint64_t serial_ = 0;
  std::set<std::string> held_;
};

}  // namespace bouncegate
