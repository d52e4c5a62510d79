// How a request's body is framed (RFC 9112 6): decided from the header alone, before a byte of
// body is read, so that no request can be read two ways (request smuggling).
#pragma once

#include <string_view>

namespace bouncegate {

enum class BodyFraming {
  ok,               // no Transfer-Encoding, or exactly "chunked"
  bad_request,      // 400: chunked not final, or Transfer-Encoding with Content-Length
  not_implemented,  // 501: a transfer coding other than chunked, applied before it
};

// `transfer_encoding` is the field value ("" when absent; repeated fields joined by ", ").
BodyFraming body_framing(std::string_view transfer_encoding, bool has_content_length);

}  // namespace bouncegate
