// Postfix's SMTPD access policy delegation protocol (SMTPD_POLICY_README): a request is
// "name=value" lines ended by an empty line; the answer is "action=..." and an empty line.
// Reading is bounded and strict. Pure; no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/reply_policy.hpp"

namespace bouncegate::milter {

using PolicyRequest = std::map<std::string, std::string>;

// Takes bytes as they arrive and hands out whole requests.
class PolicyRequestReader {
 public:
  static constexpr size_t kMaxLine = 8192;       // one attribute
  static constexpr size_t kMaxAttributes = 128;  // Postfix 3.7 sends about 40
  static constexpr size_t kMaxRequest = 65536;   // all of them

  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next whole request, nullopt when more bytes are needed. `error` is set (and the
  // connection should be closed) when the input breaks the protocol: a line without '=', an
  // empty name, a NUL or CR, a line or request over its bound, a repeated attribute.
  std::optional<PolicyRequest> next(std::string* error);

 private:
  std::string buf_;
  size_t scanned_ = 0;
  PolicyRequest current_;
  size_t current_bytes_ = 0;
};

// "action=550 5.1.1 text\n\n": an SMTP reply as an access(5) action (CR, LF and NUL in the
// text become spaces, so a reply can never add a line to the answer).
std::string policy_answer(const SmtpReplyText& reply);
// "action=DUNNO\n\n": no opinion, the next restriction decides.
std::string policy_dunno();

}  // namespace bouncegate::milter
