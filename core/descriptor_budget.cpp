// Descriptor budget of the daemons (see descriptor_budget.hpp).
#include "core/descriptor_budget.hpp"

namespace bouncegate {

namespace {
constexpr uint64_t kMargin = 64;  // listeners, Redis, metrics, journal, logs, resolver
}

uint64_t relay_descriptors_needed(const Config& cfg) {
  const RelayConfig& r = cfg.relay;
  return 2 * static_cast<uint64_t>(r.max_sessions) + static_cast<uint64_t>(r.upstream.pool_size) +
         static_cast<uint64_t>(cfg.redis.pool_size) + kMargin;
}

std::optional<std::string> descriptor_limit_warning(const Config& cfg, uint64_t soft_limit) {
  uint64_t need = relay_descriptors_needed(cfg);
  if (soft_limit >= need) return std::nullopt;
  return "relay.max_sessions " + std::to_string(cfg.relay.max_sessions) + " needs about " +
         std::to_string(need) + " file descriptors, the limit here is " +
         std::to_string(soft_limit) + ": raise LimitNOFILE= (systemd) or lower max_sessions";
}

}  // namespace bouncegate
