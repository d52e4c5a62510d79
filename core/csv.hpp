// CSV as RFC 4180 writes it, one writer and one reader for export, import and reports: quoted
// fields may hold commas, quotes and line breaks, and a record is never split at one.
#pragma once

#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace bouncegate {

// One field, quoted when it holds a comma, quote, CR or LF (quotes doubled). A field a
// spreadsheet would run as a formula (first character = + - @, tab or CR; OWASP "CSV
// injection") gets a leading apostrophe, and so does one that already starts with an
// apostrophe before such a character, so csv_unguard restores every field exactly.
std::string csv_field(std::string_view s);

// The field as it was before csv_field guarded it (what import reads back).
std::string csv_unguard(std::string_view s);

// Reads records from a stream, one at a time (constant memory for any file size).
class CsvReader {
 public:
  explicit CsvReader(std::istream& in) : in_(in) {}
  // The next record; false at the end. A quoted field left open at the end of the input is
  // an error (error() says which line it began on).
  bool next(std::vector<std::string>& fields);
  size_t line() const { return record_line_; }  // first line of the record just read
  const std::string& error() const { return error_; }

 private:
  std::istream& in_;
  size_t line_ = 0, record_line_ = 0;
  std::string error_;
};

}  // namespace bouncegate
