// Replies received: SMTP reply parsing (RFC 5321 4.2, RFC 3463 enhanced codes), bytes in,
// values out, no I/O. Upstream replies in the relay, DSN Diagnostic-Codes, the CLI. (Replies
// sent are composed in core/reply_policy.)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bouncegate {

// An RFC 3463 enhanced status code, e.g. 5.1.1 or 5.4.310 (subject and detail up to 3 digits).
struct EnhancedCode {
  int cls = 0;  // 2, 4 or 5
  int subject = 0;
  int detail = 0;
  std::string str() const;
  bool operator==(const EnhancedCode&) const = default;
};

// Parses "5.1.1" (exactly, no surrounding text); nullopt when malformed.
std::optional<EnhancedCode> parse_enhanced_code(std::string_view s);

// Finds an enhanced code written inside free text: at the start ("5.1.1 User unknown"),
// in Qmail/Exchange style "(#5.7.1)", or "#5.1.1" / "[5.1.1]" anywhere.
std::optional<EnhancedCode> find_enhanced_code(std::string_view text);

struct Reply {
  bool valid = false;
  std::string error;                     // why it is "not a reply" when !valid
  int code = 0;                          // 250, 550, ... (0 when only a status is known)
  std::optional<EnhancedCode> enhanced;  // cleaned: class digit agrees with code
  std::vector<std::string> lines;        // text of each line, code and separator removed
  std::string text() const;              // lines joined by a single space
  std::string raw() const;               // "550-5.1.1 a\r\n550 5.1.1 b" style, one line per entry
  std::string one_line() const;          // "550 5.1.1 a b" for logs and storage
  bool positive() const { return code >= 200 && code < 400; }
};

// Parses a complete reply, one or several lines separated by CRLF or LF. Garbage yields
// valid=false with an explanation, never an exception.
Reply parse_reply(std::string_view text);

// A reply code quoted inside free text (MTA transcripts in bounces); want_class 4 or 5
// restricts it to that class, 0 takes either.
struct EmbeddedReply {
  int code = 0;
  std::optional<EnhancedCode> enhanced;
  size_t offset = 0;
};
std::optional<EmbeddedReply> find_embedded_reply(std::string_view text, int want_class = 0);

// A reply known from a DSN Status and a diagnostic text: the diagnostic parsed as a reply when
// it is one, else a reply quoted inside it, else the status with the text.
Reply reply_from_status(std::string_view status, std::string_view text);

// Incremental reader: feed bytes as they arrive, complete replies come out.
class ReplyReader {
 public:
  explicit ReplyReader(size_t max_line = 4096, size_t max_lines = 100)
      : max_line_(max_line), max_lines_(max_lines) {}
  // Appends bytes; returns the number consumed (stops right after one complete reply).
  size_t feed(std::string_view bytes);
  bool ready() const { return done_; }
  // Takes the complete reply and resets for the next one.
  Reply take();
  bool failed() const { return failed_; }

 private:
  size_t max_line_, max_lines_;
  std::string line_;
  std::string collected_;
  size_t nlines_ = 0;
  bool done_ = false;
  bool failed_ = false;
};

}  // namespace bouncegate
