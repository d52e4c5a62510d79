// RFC 4180 CSV writer and streaming reader (see csv.hpp).
#include "core/csv.hpp"

namespace bouncegate {

namespace {

bool formula_start(char c) {
  return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

// Guarded: a formula start, or apostrophes followed by one (so the guard can be undone).
bool needs_guard(std::string_view s) {
  size_t i = s.find_first_not_of('\'');
  return i < s.size() && formula_start(s[i]);
}

}  // namespace

std::string csv_unguard(std::string_view s) {
  if (!s.empty() && s[0] == '\'' && needs_guard(s.substr(1))) return std::string(s.substr(1));
  return std::string(s);
}

std::string csv_field(std::string_view raw) {
  std::string guarded = needs_guard(raw) ? "'" + std::string(raw) : std::string(raw);
  std::string_view s = guarded;
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

bool CsvReader::next(std::vector<std::string>& fields) {
  fields.clear();
  error_.clear();
  std::string line;
  if (!std::getline(in_, line)) return false;
  record_line_ = ++line_;
  fields.emplace_back();
  bool quoted = false;
  for (;;) {
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
          fields.back() += '"';
          ++i;
        } else if (c == '"') {
          quoted = false;
        } else {
          fields.back() += c;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        fields.emplace_back();
      } else if (c != '\r' || i + 1 != line.size()) {
        fields.back() += c;
      }
    }
    if (!quoted) return true;
    // A line break inside quotes belongs to the field (RFC 4180 2.6).
    if (!std::getline(in_, line)) {
      error_ = "quoted field opened on line " + std::to_string(record_line_) + " never closes";
      return true;
    }
    ++line_;
    fields.back() += '\n';
  }
}

}  // namespace bouncegate
