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

// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), 0 when s[i] starts none:
// a stray continuation byte (a lone 0x9B is CSI to a terminal not in UTF-8 mode), an overlong
// or out-of-range lead, or a sequence cut short.
size_t utf8_length_at(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n = c >= 0xC2 && c <= 0xDF   ? 2
             : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4
                                      : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}

std::string escape(std::string_view s, bool keep_newlines, bool backslash) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    char buf[8];
    if (c >= 0x80 && !is_c1_at(s, i)) {
      size_t n = utf8_length_at(s, i);
      if (n == 0) {  // not UTF-8: the byte itself, escaped
        snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      } else {
        out.append(s.substr(i, n));
        i += n - 1;
      }
      continue;
    }
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
    if (c >= 0x80) {
      size_t n = utf8_length_at(s, i);
      if (n == 0) return true;
      i += n - 1;
    }
  }
  return false;
}

}  // namespace bouncegate
