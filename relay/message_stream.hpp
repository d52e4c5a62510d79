// The message after DATA, watched as it streams through (never buffered whole): finds the
// end-of-data dot, refuses or normalises bare CR/LF, enforces the text-line and size limits
// and captures the Message-ID.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace bouncegate {

// RFC 5321 4.5.3.1.6: a text line is at most 1000 octets including CRLF.
inline constexpr size_t kMaxTextLine = 1000;

class MessageStream {
 public:
  explicit MessageStream(uint64_t max_size, BareNewline mode = BareNewline::reject)
      : max_size_(max_size), mode_(mode) {}

  // Consumes bytes up to and including the terminating CRLF "." CRLF; returns the number
  // used. While no limit is broken, appends to `upstream` what the upstream must see: the
  // wire form (still dot-stuffed) with only CRLF line ends, so no byte sequence can end the
  // data upstream anywhere but where it ends here (RFC 5321 4.1.1.4; SMTP smuggling).
  size_t feed(std::string_view bytes, std::string& upstream);
  // One read as the relay's DATA loop takes it, so that most of it goes upstream from the
  // caller's own buffer: feed() up to the first line start (a read usually begins inside a
  // line), then the run of whole body lines that need no decision (CRLF-ended, no other CR,
  // no leading dot, within the limits: verbatim_prefix), then feed() for the rest. What the
  // upstream must see is `head`, then bytes[head_used, head_used + verbatim), then `tail`;
  // `used` is what feed(bytes) would have consumed.
  struct Taken {
    size_t head_used = 0;
    size_t verbatim = 0;
    size_t used = 0;
  };
  Taken take(std::string_view bytes, std::string& head, std::string& tail);
  // The leading bytes that go upstream exactly as they came, consumed as feed() would
  // consume them; 0 when the next byte needs feed().
  size_t verbatim_prefix(std::string_view bytes);
  bool done() const { return done_; }
  bool line_too_long() const { return line_too_long_; }
  bool too_big() const { return too_big_; }
  bool bare_newline() const { return bare_newline_; }
  // Once any limit is broken the message must not reach the upstream's end of data.
  bool failed() const { return line_too_long_ || too_big_ || bare_newline_; }
  uint64_t size() const { return size_; }
  // The Message-ID header's value without angle brackets ("" if none seen).
  const std::string& message_id() const { return message_id_; }

 private:
  size_t body_lines(std::string_view bytes, std::string& out);
  // The length of the run body_lines() takes (size_ and after_crlf_ updated for it).
  size_t clean_lines(std::string_view bytes);
  void text(char ch, std::string& out);
  void line_end(bool crlf, std::string& out);
  void header_line_complete();

  uint64_t max_size_;
  BareNewline mode_;
  uint64_t size_ = 0;
  size_t line_len_ = 0;       // octets of the current line's text (no line end)
  bool dot_pending_ = false;  // the line so far is "." (not yet sent: it may end the data)
  bool cr_pending_ = false;   // a CR was seen; the next octet says whether it is CRLF
  bool after_crlf_ = true;    // the previous line ended with CRLF (DATA's 354 counts as one)
  bool done_ = false;
  bool line_too_long_ = false;
  bool too_big_ = false;
  bool bare_newline_ = false;
  bool in_headers_ = true;
  std::string line_;    // current line, kept only while in the header section
  std::string header_;  // current (possibly folded) header field
  std::string message_id_;
};

}  // namespace bouncegate
