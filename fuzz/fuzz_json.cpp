// Fuzz target: the strict JSON reader (core/json_parse.hpp) and the ACS Event Grid batch planner
// (web/acs_events.hpp) that runs on every webhook body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/json_parse.hpp"
#include "web/acs_events.hpp"

namespace {

// Walks the tree so that every stored value is read at least once.
size_t count_values(const bouncegate::JsonValue& v) {
  size_t n = 1 + v.text.size() % 2;
  for (const auto& item : v.items) n += count_values(item);
  for (const auto& [key, member] : v.members) n += key.size() % 2 + count_values(member);
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bouncegate;
  static const std::shared_ptr<const Config> cfg = load_config_text("{}\n", "fuzz.yaml");
  std::string_view input(reinterpret_cast<const char*>(data), size);

  std::string why;
  JsonLimits small;
  small.max_depth = 8;
  small.max_items = 500;
  if (auto v = parse_json(input, &why, small)) {
    (void)count_values(*v);
    (void)v->find("data");
    (void)v->string_at("id");
  }
  (void)parse_json(input, &why);

  (void)web::plan_event_batch(*cfg, input, 1u << 20, &why);
  return 0;
}
