// RFC 4180 CSV writer and streaming reader (see csv.hpp).
#include "core/csv.hpp"

namespace bouncegate {

std::string csv_field(std::string_view s) {
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
