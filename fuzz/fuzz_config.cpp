// Fuzz target: the configuration loader (core/config.hpp). ConfigError is the documented answer
// to bad input; any other exception or a crash is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bouncegate;
  std::string yaml(reinterpret_cast<const char*>(data), size);
  try {
    auto cfg = load_config_text(yaml, "fuzz.yaml");
    if (!cfg || !cfg->classifier) __builtin_trap();  // success must yield a usable config
  } catch (const ConfigError&) {
    // Rejected with an explanation: the expected outcome for bad input.
  }
  return 0;
}
