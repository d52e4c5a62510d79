// RFC 3464 delivery reports built for tests: one shape, the recipients' fields varied.
#pragma once

#include <string>
#include <vector>

namespace bouncegate::test {

struct SampleRecipient {
  std::string address;
  std::string action = "failed";
  std::string status = "5.1.1";
  std::string diagnostic;  // empty: "550 5.1.1 <address>: Recipient address rejected: User unknown"
};

// A multipart/report from MAILER-DAEMON@mx.example.net to `to`, returning the headers of the
// original message `original_message_id` (without <>).
std::string sample_dsn(const std::vector<SampleRecipient>& recipients,
                       const std::string& to = "bounces@bounce.example.com",
                       const std::string& original_message_id = "orig-42@example.com");

}  // namespace bouncegate::test
