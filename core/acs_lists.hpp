// ACS customer-managed suppression lists as data: which bouncegate changes are pushed to them,
// the Azure Resource Manager paths and bodies, and the reading of a list page. Pure; no I/O.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/store_records.hpp"

namespace bouncegate {

// The source label of rows pulled from ACS's lists: never pushed back.
inline constexpr const char* kAcsListActor = "suppression-list";

struct AcsListChange {
  enum class Op { put, remove } op = Op::put;
  std::string address;
  std::string notes;  // put: why (class, source, time)
};

// Permanent decisions (a suppress_permanent outcome or manual entry: complaints, operator
// blocks) and unsubscribes from `unsubscribe_lists` are put; a released address and a
// resubscribe to such a list are removed. Leases, records, domain entries ("*@d") and rows
// that came from ACS's lists are not pushed.
std::optional<AcsListChange> acs_list_change(const Event& ev, const AcsListsConfig& c);

// The address resource's name: "bg-" and 40 hex digits of SHA-256 of the address, so a push
// is an idempotent PUT of the same resource and never carries the address in a URL.
std::string acs_address_id(const std::string& address);

// Paths on the ARM endpoint, with ?api-version.
std::string acs_list_path(const AcsListsConfig& c, const AcsListTarget& t);
std::string acs_address_path(const AcsListsConfig& c, const AcsListTarget& t,
                             const std::string& address);
std::string acs_addresses_path(const AcsListsConfig& c, const AcsListTarget& t);

std::string acs_list_body(const AcsListTarget& t);
std::string acs_address_body(const std::string& address, const std::string& notes);

// One page of GET .../suppressionListAddresses: ({"value":[{"name", "properties":{"email"}}],
// "nextLink"}); std::runtime_error when the shape is not that.
struct AcsAddressPage {
  std::vector<std::pair<std::string, std::string>> items;  // resource name, email
  std::string next_link;
};
AcsAddressPage parse_acs_address_page(const std::string& body);

}  // namespace bouncegate
