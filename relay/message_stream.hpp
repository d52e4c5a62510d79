// The message after DATA, watched as it streams through (never buffered whole): finds the
// end-of-data dot, enforces the text-line and size limits, and captures the Message-ID.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bouncegate {

// RFC 5321 4.5.3.1.6: a text line is at most 1000 octets including CRLF.
inline constexpr size_t kMaxTextLine = 1000;

class MessageStream {
 public:
  explicit MessageStream(uint64_t max_size) : max_size_(max_size) {}

  // Consumes bytes up to and including the terminating "." line; returns the number used.
  // The consumed bytes are the wire form (still dot-stuffed) and go upstream unchanged.
  size_t feed(std::string_view bytes);
  bool done() const { return done_; }
  bool line_too_long() const { return line_too_long_; }
  bool too_big() const { return too_big_; }
  // Once any limit is broken the message must not reach the upstream's end of data.
  bool failed() const { return line_too_long_ || too_big_; }
  uint64_t size() const { return size_; }
  // The Message-ID header's value without angle brackets ("" if none seen).
  const std::string& message_id() const { return message_id_; }

 private:
  void end_of_line();
  void header_line_complete();

  uint64_t max_size_;
  uint64_t size_ = 0;
  size_t line_len_ = 0;
  bool line_starts_with_dot_ = false;
  char prev_ = 0;
  bool after_crlf_ = true;  // the previous line ended with CRLF (DATA's 354 counts as one)
  bool done_ = false;
  bool line_too_long_ = false;
  bool too_big_ = false;
  bool in_headers_ = true;
  std::string line_;    // current line, kept only while in the header section
  std::string header_;  // current (possibly folded) header field
  std::string message_id_;
};

}  // namespace bouncegate
