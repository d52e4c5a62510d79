// Fuzz target: the relay's SMTP command parser (relay/smtp_command.hpp), line by line and as a
// byte stream split into command lines the way the session reads them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/smtp_command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bouncegate;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  CommandLine whole = parse_command_line(input);
  (void)whole.declared_size();
  (void)whole.has("SMTPUTF8");
  (void)whole.param("BODY");

  // The stream path: every complete line goes through the parser, too-long lines are dropped.
  CommandLineReader reader;
  std::string_view rest = input;
  while (!rest.empty()) {
    size_t used = reader.feed(rest);
    if (used == 0 || used > rest.size()) __builtin_trap();  // the reader must make progress
    rest.remove_prefix(used);
    if (reader.ready()) {
      bool too_long = reader.too_long();
      std::string line = reader.take();
      if (too_long && line.size() > kMaxCommandLine) __builtin_trap();
      CommandLine cmd = parse_command_line(line);
      (void)cmd.declared_size();
      (void)ascii_upper(cmd.verb_text);
    }
  }
  return 0;
}
