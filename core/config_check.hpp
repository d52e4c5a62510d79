// What every binary's --check-config verifies beyond the file's own grammar, alike in all four:
// the unsubscribe keys load, and the descriptor limit suffices. The file itself (keys, types,
// listen addresses, networks) is checked by load_config.
#pragma once

#include <string>
#include <vector>

#include "core/config.hpp"

namespace bouncegate {

// Throws ConfigError naming the file that fails; returns warnings (not errors) to print.
std::vector<std::string> check_config_complete(const Config& cfg);

}  // namespace bouncegate
