// Mailbox address canonicalisation: the one form used as a store key and in logs, the way the
// MTA will deliver the address (comments, white space, quoting, trailing dot, IDN mapping).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bouncegate {

struct NormalizedAddress {
  std::string address;  // local@domain, lower case, domain in A-label (punycode) form
  std::string local;
  std::string domain;
};

// nullopt with `why` set when the input is not a usable mailbox (empty, no domain, control
// characters, over 254 octets, "<>" null sender, white space or a comment between two atoms,
// the local part "*", which names domain entries).
// Callers never pass such an address silently: see bad_address_reply() in reply_policy.hpp.
std::optional<NormalizedAddress> normalize_address(std::string_view raw,
                                                   std::string* why = nullptr);

// A suppression entry's name: a mailbox (as normalize_address) or a whole domain written
// "*@domain" (local part "*"). A domain entry needs two labels at least: "*@com" is refused.
std::optional<NormalizedAddress> normalize_entry_address(std::string_view raw,
                                                         std::string* why = nullptr);
bool is_domain_entry(std::string_view address);

// The domain entries that can cover a recipient of `domain`, nearest first: "*@domain", then
// "*@parent" for each parent of two labels or more (at most `max_parents`).
std::vector<std::string> domain_entries_for(std::string_view domain, size_t max_parents = 8);

// The domain part after the last '@', lower-cased ("" if none).
std::string domain_of(std::string_view address);

}  // namespace bouncegate
