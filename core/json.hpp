// Minimal JSON writing for machine output (CLI --json, logs, web responses).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bouncegate {

std::string json_string(std::string_view s);  // quoted and escaped

// Builds one JSON object field by field: JsonObject().add("a", 1).add("b", "x").str()
class JsonObject {
 public:
  JsonObject& add(std::string_view key, std::string_view value);
  JsonObject& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  JsonObject& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  JsonObject& add(std::string_view key, int64_t value);
  JsonObject& add(std::string_view key, int value) { return add(key, static_cast<int64_t>(value)); }
  JsonObject& add(std::string_view key, bool value);
  JsonObject& add_raw(std::string_view key, std::string_view json);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(std::string_view k);
  std::string body_;
};

}  // namespace bouncegate
