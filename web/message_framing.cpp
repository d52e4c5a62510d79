// Request body framing checks (RFC 9112 6.1, 6.3).
#include "web/message_framing.hpp"

#include <strings.h>

#include <string>

namespace bouncegate {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
bool is_chunked(std::string_view coding) {
  return coding.size() == 7 && strncasecmp(coding.data(), "chunked", 7) == 0;
}
}  // namespace

BodyFraming body_framing(std::string_view te, bool has_content_length) {
  if (trim(te).empty()) return BodyFraming::ok;
  // RFC 9112 6.1: a sender must not send Content-Length with Transfer-Encoding; a server may
  // reject such a request, and here it does: two framings are one too many.
  if (has_content_length) return BodyFraming::bad_request;
  bool other = false, chunked_last = false;
  while (true) {
    size_t comma = te.find(',');
    std::string_view coding = trim(te.substr(0, comma));
    // Parameters (";q=...") make it another coding, never "chunked".
    chunked_last = is_chunked(coding);
    if (!chunked_last) other = other || !coding.empty();
    if (comma == std::string_view::npos) break;
    if (chunked_last) return BodyFraming::bad_request;  // RFC 9112 6.1: chunked only once, last
    te.remove_prefix(comma + 1);
  }
  // RFC 9112 6.3: a request whose final coding is not chunked cannot be framed: 400.
  if (!chunked_last) return BodyFraming::bad_request;
  return other ? BodyFraming::not_implemented : BodyFraming::ok;
}

}  // namespace bouncegate
