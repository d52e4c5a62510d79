// What the upstream's EHLO reply offers: keyword lines and the capabilities that matter end to
// end. Pure (no I/O), part of the relay's protocol library.
#pragma once

#include <cstdint>
#include <string>

#include "core/received_reply.hpp"

namespace bouncegate {

// The upstream's EHLO keywords that matter end to end.
struct UpstreamCapabilities {
  bool known = false;
  bool pipelining = false, eightbitmime = false, smtputf8 = false, dsn = false;
  bool size = false;        // SIZE advertised: only then may MAIL carry SIZE= (RFC 1870)
  uint64_t size_limit = 0;  // the advertised limit; 0: none stated
};

UpstreamCapabilities capabilities_from_ehlo(const Reply& ehlo);

// The EHLO keyword line for `kw` ("AUTH PLAIN LOGIN"), upper-cased, or "" when absent.
std::string ehlo_line(const Reply& r, const std::string& kw);

}  // namespace bouncegate
