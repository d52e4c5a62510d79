// Mailbox address normalisation: the one form used as a store key and in logs.
// Lower-cases, strips angle brackets and source routes, converts IDN domains to A-labels.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bouncegate {

struct NormalizedAddress {
  std::string address;  // local@domain, lower case, domain in A-label (punycode) form
  std::string local;
  std::string domain;
};

// nullopt with `why` set when the input is not a usable mailbox (empty, no domain,
// control characters, over 254 octets, "<>" null sender).
std::optional<NormalizedAddress> normalize_address(std::string_view raw,
                                                   std::string* why = nullptr);

// The domain part after the last '@', lower-cased ("" if none).
std::string domain_of(std::string_view address);

// RFC 3492 punycode for one label of Unicode code points; nullopt on overflow.
std::optional<std::string> punycode_encode(const std::u32string& label);

}  // namespace bouncegate
