// How many file descriptors a daemon may need with this configuration, and the warning that
// check-config gives when the process limit (systemd LimitNOFILE=) is below it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/config.hpp"

namespace bouncegate {

// Relay: a client and an upstream socket per session, the idle pool, Redis connections,
// listeners, journal and logs, with a margin.
uint64_t relay_descriptors_needed(const Config& cfg);

// A warning when `soft_limit` (RLIMIT_NOFILE) is below what the relay needs; nullopt if fine.
std::optional<std::string> descriptor_limit_warning(const Config& cfg, uint64_t soft_limit);

}  // namespace bouncegate
