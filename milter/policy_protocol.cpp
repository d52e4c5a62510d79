// The policy delegation protocol's reading and answers.
#include "milter/policy_protocol.hpp"

#include <cstring>

namespace bouncegate::milter {

std::optional<PolicyRequest> PolicyRequestReader::next(std::string* error) {
  for (;;) {
    size_t nl = buf_.find('\n', scanned_);
    if (nl == std::string::npos) {
      scanned_ = buf_.size();
      if (buf_.size() > kMaxLine) *error = "an attribute line over 8192 bytes";
      return std::nullopt;
    }
    std::string_view line(buf_.data(), nl);
    if (line.size() > kMaxLine) {
      *error = "an attribute line over 8192 bytes";
      return std::nullopt;
    }
    if (line.empty()) {
      buf_.erase(0, nl + 1);
      scanned_ = 0;
      PolicyRequest done;
      done.swap(current_);
      current_bytes_ = 0;
      if (done.empty()) continue;  // stray empty lines between requests
      return done;
    }
    if (line.find('\0') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
      *error = "a NUL or CR in an attribute";
      return std::nullopt;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      *error = "a line that is not name=value";
      return std::nullopt;
    }
    current_bytes_ += line.size() + 1;
    if (current_.size() >= kMaxAttributes || current_bytes_ > kMaxRequest) {
      *error = "a request over 128 attributes or 64 KB";
      return std::nullopt;
    }
    std::string name(line.substr(0, eq));
    if (!current_.emplace(name, std::string(line.substr(eq + 1))).second) {
      *error = "attribute '" + name.substr(0, 64) + "' given twice";
      return std::nullopt;
    }
    buf_.erase(0, nl + 1);
    scanned_ = 0;
  }
}

std::string policy_answer(const SmtpReplyText& reply) {
  std::string text = reply.code;
  if (!reply.enhanced.empty()) text += " " + reply.enhanced;
  if (!reply.text.empty()) text += " " + reply.text;
  for (auto& c : text)
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  return "action=" + text + "\n\n";
}

std::string policy_dunno() {
  return "action=DUNNO\n\n";
}

}  // namespace bouncegate::milter
