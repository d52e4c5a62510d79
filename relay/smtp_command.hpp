// SMTP command lines from the client (RFC 5321 4.1, RFC 1870/6152/6531/3461 parameters):
// bytes in, command values out, no I/O, so tests can feed them byte by byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bouncegate {

// RFC 5321 4.5.3.1.4: a command line is at most 512 octets including CRLF.
inline constexpr size_t kMaxCommandLine = 512;

enum class Verb {
  helo,
  ehlo,
  mail,
  rcpt,
  data,
  rset,
  noop,
  quit,
  vrfy,
  expn,
  help,
  starttls,
  auth,
  xforward,
  bdat,
  unknown
};

struct CommandLine {
  Verb verb = Verb::unknown;
  std::string verb_text;  // as sent, upper-cased
  std::string argument;   // everything after the verb, trimmed
  // MAIL/RCPT: the reverse/forward path without angle brackets ("" for the null sender).
  std::string path;
  // MAIL/RCPT ESMTP parameters and XFORWARD attributes: keyword upper-cased, value as sent
  // (empty for a keyword without '=', e.g. SMTPUTF8).
  std::vector<std::pair<std::string, std::string>> params;
  std::string error;  // non-empty: a syntax error (501 5.5.4), the text says why
  // A control character (other than HT) in the line: refused as a whole (501 5.5.2), never
  // forwarded, logged or stored.
  bool control_character = false;

  bool has(std::string_view keyword) const;
  std::optional<std::string> param(std::string_view keyword) const;
  // SIZE=n as a number; nullopt when absent or not a number.
  std::optional<uint64_t> declared_size() const;
};

// ASCII upper case, as SMTP keywords compare (RFC 5321 2.4).
std::string ascii_upper(std::string_view s);

// RFC 3461 4: xtext is "+" HEX HEX or any printable ASCII but "+" and "=".
bool is_xtext(std::string_view v);

// Parses one command line without its CRLF. Never throws. MAIL/RCPT parameter values of the
// extensions the relay forwards (SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY, ORCPT) are
// checked against their grammar: nothing malformed reaches the upstream.
CommandLine parse_command_line(std::string_view line);

// Splits the client's byte stream into command lines. Stops right after one complete line so
// that what follows (pipelined commands, or the message after DATA) stays with the caller.
class CommandLineReader {
 public:
  // Consumes bytes up to and including the first LF; returns the number used.
  size_t feed(std::string_view bytes);
  bool ready() const { return done_; }
  // True when the line was over kMaxCommandLine: its bytes were discarded (500 5.5.2).
  bool too_long() const { return too_long_; }
  // True when the line ended with a bare LF instead of CRLF (RFC 5321 2.3.8).
  bool bare_lf() const { return bare_lf_; }
  // The complete line without CR LF; resets the reader.
  std::string take();

 private:
  std::string line_;
  bool done_ = false;
  bool too_long_ = false;
  bool bare_lf_ = false;
  char last_ = 0;
};

}  // namespace bouncegate
