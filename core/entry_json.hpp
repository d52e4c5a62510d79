// The JSON form of a suppression entry and of an address's unsubscriptions: one shape for the
// CLI's --json output and the HTTP API.
#pragma once

#include <string>
#include <vector>

#include "core/store.hpp"

namespace bouncegate {

std::string entry_json(const Entry& e);
// {"LIST": {"at": UTC, "source": ...}, ...}
std::string unsubscriptions_json(const std::vector<SuppressionStore::Unsubscription>& us);

}  // namespace bouncegate
