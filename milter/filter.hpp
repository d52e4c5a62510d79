// bouncegate-milter's filter: the immutable runtime snapshot (config, store, token keys) that
// each connection holds, and the libmilter callback table that gates recipients and adds
// List-Unsubscribe headers.
#pragma once

#include <libmilter/mfapi.h>

#include <memory>
#include <string>

#include "core/config.hpp"
#include "core/store.hpp"
#include "core/unsubscribe.hpp"

namespace bouncegate::milter {

// Everything one configuration generation needs. A reload builds a new one; connections keep
// the one they started with.
struct Runtime {
  std::shared_ptr<const Config> config;
  std::unique_ptr<SuppressionStore> store;
  TokenKeyring keys;
};

// Loads the config and the token keys; throws ConfigError("file:line: ...").
std::shared_ptr<const Runtime> build_runtime(const std::string& config_path);

// The runtime new connections get.
void install_runtime(std::shared_ptr<const Runtime> rt);
std::shared_ptr<const Runtime> current_runtime();

// The callback table registered with smfi_register.
smfiDesc filter_description();

}  // namespace bouncegate::milter
