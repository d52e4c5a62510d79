// Fuzz target: bounce and complaint parsing (core/dsn.hpp): parse_feedback on whole messages
// and decode_verp on the addresses it finds and on the raw input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/dsn.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bouncegate;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ParsedFeedback fb = parse_feedback(input);
  (void)to_string(fb.kind);
  for (const FailedRecipient& r : fb.recipients) {
    (void)decode_verp(r.recipient);
    (void)decode_verp(r.original_recipient);
  }
  if (size <= 1024) (void)decode_verp(input);
  return 0;
}
