// Streaming message checks: end-of-data detection, RFC 5321 limits and Message-ID capture.
#include "relay/message_stream.hpp"

#include <strings.h>

namespace bouncegate {

size_t MessageStream::feed(std::string_view bytes) {
  size_t used = 0;
  while (used < bytes.size() && !done_) {
    char ch = bytes[used++];
    if (line_len_ == 0) line_starts_with_dot_ = ch == '.';
    ++line_len_;
    // Limits hold while a line streams, not only at its end: a line without LF must not
    // pass unchecked. ".", ".\r" may still become the end-of-data line, which never counts.
    if (line_len_ > kMaxTextLine) line_too_long_ = true;
    if (size_ + line_len_ > max_size_ && !(line_starts_with_dot_ && line_len_ <= 3))
      too_big_ = true;
    if (in_headers_ && line_.size() < kMaxTextLine) line_ += ch;
    if (ch != '\n') {
      prev_ = ch;
      continue;
    }
    // RFC 5321 4.1.1.4: only CRLF "." CRLF ends the message. A bare LF ends no line here, so
    // "LF . LF" is message text, as it is for a strict upstream.
    bool crlf = prev_ == '\r';
    prev_ = ch;
    if (line_starts_with_dot_ && line_len_ == 3 && crlf && after_crlf_) {
      done_ = true;
      if (in_headers_) {  // a message of headers only: look at the last field too
        line_.clear();
        header_line_complete();
      }
      break;
    }
    after_crlf_ = crlf;
    end_of_line();
  }
  return used;
}

void MessageStream::end_of_line() {
  size_ += line_len_;
  if (in_headers_) header_line_complete();
  line_len_ = 0;
  line_.clear();
}

void MessageStream::header_line_complete() {
  std::string_view l = line_;
  while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.remove_suffix(1);
  bool continuation = !l.empty() && (l.front() == ' ' || l.front() == '\t');
  if (continuation && header_.size() < kMaxTextLine) {
    header_ += l;
    return;
  }
  // A field is complete: look at it before starting the next one.
  if (message_id_.empty() && header_.size() > 11 &&
      strncasecmp(header_.c_str(), "Message-ID:", 11) == 0) {
    std::string_view v(header_);
    v.remove_prefix(11);
    size_t lt = v.find('<'), gt = v.find('>', lt == std::string_view::npos ? 0 : lt);
    if (lt != std::string_view::npos && gt != std::string_view::npos)
      message_id_ = std::string(v.substr(lt + 1, gt - lt - 1));
  }
  header_ = std::string(l);
  if (l.empty()) in_headers_ = false;  // the blank line ends the header section
}

}  // namespace bouncegate
