// ACS SMTP sign-in names: whether an upstream is ACS, and what is wrong with a username for it.
// Microsoft documents two forms: an SMTP Username resource (free form or an email address) and
// the older "<ACS resource name>.<Entra application id>.<Entra tenant id>" (also written with
// "|"), whose two ids are GUIDs. Pure; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bouncegate {

// 8-4-4-4-12 hexadecimal digits (Entra application and tenant ids).
bool is_guid(std::string_view s);

// smtp.azurecomm.net and other *.azurecomm.net hosts.
bool is_acs_host(std::string_view host);

// nullopt when `username` is usable for ACS SMTP AUTH; else what is wrong with it.
std::optional<std::string> acs_username_problem(std::string_view username);

}  // namespace bouncegate
