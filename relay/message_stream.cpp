// Streaming message checks: end-of-data detection, bare CR/LF policy, RFC 5321 limits and
// Message-ID capture.
#include "relay/message_stream.hpp"

#include <strings.h>

#include <algorithm>
#include <cstring>

namespace bouncegate {

size_t MessageStream::feed(std::string_view bytes, std::string& out) {
  size_t used = 0;
  while (used < bytes.size() && !done_) {
    if (!in_headers_ && line_len_ == 0 && !cr_pending_ && !dot_pending_ && !failed()) {
      used += body_lines(bytes.substr(used), out);
      if (used == bytes.size()) break;
    }
    if (line_len_ > 0 && !cr_pending_ && !dot_pending_ && !failed()) {
      // Inside a line's text: the run up to the next CR or LF (memchr) is taken whole when it
      // stays within the line and size limits; what this decides octet by octet (a leading
      // dot, line ends, a limit reached inside the run) goes the slow way below.
      const char* p = bytes.data() + used;
      // Never further than a line may be: with bare CRs (normalize) every one starts a line,
      // and an unbounded search for the LF would make one read cost quadratic time.
      size_t n = std::min(bytes.size() - used, kMaxTextLine);
      if (const void* lf = std::memchr(p, '\n', n)) n = static_cast<const char*>(lf) - p;
      if (const void* cr = std::memchr(p, '\r', n)) n = static_cast<const char*>(cr) - p;
      if (n > 0 && line_len_ + n + 2 <= kMaxTextLine && size_ + line_len_ + n <= max_size_) {
        line_len_ += n;
        if (in_headers_ && line_.size() < kMaxTextLine)
          line_.append(p, std::min(n, kMaxTextLine - line_.size()));
        out.append(p, n);
        used += n;
        continue;
      }
    }
    char ch = bytes[used++];
    if (cr_pending_) {
      cr_pending_ = false;
      if (ch == '\n') {
        line_end(true, out);
        continue;
      }
      // A CR not followed by LF. Refused, or a line end of its own on the way upstream.
      if (mode_ == BareNewline::reject) bare_newline_ = true;
      line_end(false, out);
    }
    if (ch == '\r') {
      cr_pending_ = true;
    } else if (ch == '\n') {
      // RFC 5321 2.3.8: a bare LF is no line end; some servers read it as one. It never ends
      // the data here, and never reaches the upstream as it came.
      if (mode_ == BareNewline::reject) bare_newline_ = true;
      line_end(false, out);
    } else {
      text(ch, out);
    }
  }
  return used;
}

MessageStream::Taken MessageStream::take(std::string_view bytes, std::string& head,
                                         std::string& tail) {
  Taken t;
  t.verbatim = verbatim_prefix(bytes);
  if (t.verbatim == 0 && !done_) {
    // Up to and including the first LF: every LF ends a line (CRLF or bare), so the stream
    // is at a line start after it, unless that line ended the data.
    const void* lf = std::memchr(bytes.data(), '\n', bytes.size());
    const size_t upto = lf ? static_cast<const char*>(lf) - bytes.data() + 1 : bytes.size();
    t.head_used = feed(bytes.substr(0, upto), head);
    if (!done_) t.verbatim = verbatim_prefix(bytes.substr(t.head_used));
  }
  t.used = t.head_used + t.verbatim;
  if (!done_) t.used += feed(bytes.substr(t.used), tail);
  return t;
}

size_t MessageStream::verbatim_prefix(std::string_view bytes) {
  if (done_ || in_headers_ || line_len_ != 0 || cr_pending_ || dot_pending_ || failed()) return 0;
  return clean_lines(bytes);
}

size_t MessageStream::body_lines(std::string_view bytes, std::string& out) {
  const size_t n = clean_lines(bytes);
  out.append(bytes.data(), n);
  return n;
}

size_t MessageStream::clean_lines(std::string_view bytes) {
  // Whole body lines that need no decision: CRLF-ended, not starting with a dot (which may
  // end or be stuffed), no other CR, within the line and size limits. They go upstream as
  // they came, as one run. The first line that is anything else goes the octet path.
  const char* begin = bytes.data();
  const char* end = begin + bytes.size();
  const char* p = begin;
  while (p < end && *p != '.') {
    // A line is at most kMaxTextLine octets: the LF is looked for no further (linear time
    // however many bare CRs start lines in normalize mode).
    const size_t reach = std::min(static_cast<size_t>(end - p), kMaxTextLine);
    const char* lf = static_cast<const char*>(std::memchr(p, '\n', reach));
    if (!lf) break;
    const size_t len = lf - p + 1;  // with its CRLF
    if (len < 2 || lf[-1] != '\r' || len > kMaxTextLine || size_ + len > max_size_) break;
    if (len > 2 && std::memchr(p, '\r', len - 2)) break;
    size_ += len;
    p = lf + 1;
  }
  if (p == begin) return 0;
  after_crlf_ = true;
  return p - begin;
}

void MessageStream::text(char ch, std::string& out) {
  if (line_len_ == 0 && ch == '.') {
    dot_pending_ = true;
    line_len_ = 1;
    if (in_headers_) line_ += ch;
    return;
  }
  if (dot_pending_) {
    dot_pending_ = false;
    if (!failed()) out += '.';
  }
  ++line_len_;
  // Limits hold while a line streams, not only at its end: a line without LF must not pass
  // unchecked. The end-of-data line itself never counts.
  if (line_len_ + 2 > kMaxTextLine) line_too_long_ = true;
  if (size_ + line_len_ > max_size_) too_big_ = true;
  if (in_headers_ && line_.size() < kMaxTextLine) line_ += ch;
  if (!failed()) out += ch;
}

void MessageStream::line_end(bool crlf, std::string& out) {
  if (dot_pending_ && line_len_ == 1) {
    dot_pending_ = false;
    if (crlf && after_crlf_) {  // RFC 5321 4.1.1.4: only CRLF "." CRLF ends the message
      done_ = true;
      if (!failed()) out += ".\r\n";
      if (in_headers_) {  // a message of headers only: look at the last field too
        line_.clear();
        header_line_complete();
      }
      return;
    }
    // A lone dot that is not the end (normalize, or after a refusal): stuffed, so that it
    // stays text upstream once its line end reads CRLF.
    if (!failed()) out += "..";
    line_len_ = 2;
  }
  if (!failed()) out += "\r\n";
  size_ += line_len_ + 2;
  if (size_ > max_size_) too_big_ = true;
  after_crlf_ = crlf;
  if (in_headers_) header_line_complete();
  line_len_ = 0;
  line_.clear();
}

void MessageStream::header_line_complete() {
  std::string_view l = line_;
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
