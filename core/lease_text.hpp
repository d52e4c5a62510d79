// How a lease's remaining time is shown to people (CLI, logs, SMTP replies): one formatter.
#pragma once

#include <cstdint>
#include <string>

namespace bouncegate {

// "permanent" for a negative ttl; otherwise at most two units, rounded up, with days only
// from 7d so the ladder steps read as configured: 24h, 48h, 96h, 7d, 14d. A lease of
// 23h59m56s left reads "24h"; 90s reads "1m30s"; 0 reads "0s".
std::string lease_text(int64_t ttl_ms);

}  // namespace bouncegate
