// This machine's host name, asked once per process ("localhost" when it has none): used in
// greetings, EHLO, and names of consumers and slots.
#pragma once

#include <string>

namespace bouncegate {

const std::string& host_name();

}  // namespace bouncegate
