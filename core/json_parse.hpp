// Strict JSON reading (RFC 8259) for untrusted webhook bodies: bytes in, a value tree out, no
// I/O. Depth and size are bounded; anything outside the grammar is an error, never a guess.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bouncegate {

struct JsonValue {
  enum class Type { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  double number = 0;
  std::string text;                                        // string value, or a number as written
  std::vector<JsonValue> items;                            // array elements
  std::vector<std::pair<std::string, JsonValue>> members;  // object members in document order

  // Out of line: an inline destructor makes clang instantiate pair<string, JsonValue> while
  // JsonValue is still incomplete (libstdc++ 12), so the header would not build with clang.
  JsonValue() = default;
  JsonValue(const JsonValue&) = default;
  JsonValue(JsonValue&&) noexcept = default;
  JsonValue& operator=(const JsonValue&) = default;
  JsonValue& operator=(JsonValue&&) noexcept = default;
  ~JsonValue();

  bool is_null() const { return type == Type::null; }
  bool is_string() const { return type == Type::string; }
  bool is_object() const { return type == Type::object; }
  bool is_array() const { return type == Type::array; }
  // The member named `key` of an object; nullptr when absent or not an object.
  const JsonValue* find(std::string_view key) const;
  // The string member `key`, nullopt when absent or not a string.
  std::optional<std::string> string_at(std::string_view key) const;
};

struct JsonLimits {
  size_t max_bytes = 4u << 20;
  size_t max_depth = 32;
  size_t max_items = 100000;  // values in the whole document
};

// The document as a value, or nullopt with `why` ("line 1 column 7: expected ':'").
// Rejects duplicate object keys, invalid UTF-8, lone surrogates, leading zeros, trailing
// commas, comments and anything after the value but whitespace.
std::optional<JsonValue> parse_json(std::string_view text, std::string* why,
                                    const JsonLimits& limits = {});

}  // namespace bouncegate
