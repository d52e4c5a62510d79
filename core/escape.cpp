// Control-character escaping (see escape.hpp).
#include "core/escape.hpp"

#include <cstdio>

namespace bouncegate {

namespace {
bool is_c1_at(std::string_view s, size_t i) {
  return static_cast<unsigned char>(s[i]) == 0xC2 && i + 1 < s.size() &&
         static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
         static_cast<unsigned char>(s[i + 1]) <= 0x9F;
}

std::string escape(std::string_view s, bool keep_newlines, bool backslash) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    char buf[8];
    if (c == '\\' && backslash) {
      out += "\\\\";
    } else if (c == '\n' && keep_newlines) {
      out += '\n';
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else if (is_c1_at(s, i)) {
      snprintf(buf, sizeof buf, "\\u00%02x", static_cast<unsigned char>(s[++i]));
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

std::string escape_control(std::string_view s, bool keep_newlines) {
  return escape(s, keep_newlines, true);
}

std::string escape_control_for_storage(std::string_view s) {
  return escape(s, true, false);
}

bool has_control(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c == '\\' || is_c1_at(s, i)) return true;
  }
  return false;
}

}  // namespace bouncegate
