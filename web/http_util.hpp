// Small HTTP helpers shared by the routes of bouncegate-web: query and form decoding, a
// constant-time secret comparison, JSON answers.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "web/http_handler.hpp"

namespace bouncegate::web {

std::string percent_decode(std::string_view s, bool plus_is_space);
// "a=1&b=2" (query strings and application/x-www-form-urlencoded bodies); first value wins.
std::map<std::string, std::string> parse_pairs(std::string_view s);
// Constant-time whatever the two lengths are (both are hashed first).
bool secret_matches(std::string_view given, std::string_view expected);
Response json_response(http::status status, unsigned version, const std::string& json);

}  // namespace bouncegate::web
