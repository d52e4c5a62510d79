// Fuzz target: SMTP reply parsing (core/received_reply.hpp): parse_reply, find_enhanced_code, and
// the incremental ReplyReader fed in chunk sizes chosen by the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/received_reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bouncegate;
  if (size == 0) return 0;
  // The first byte picks the chunk sizes so that one input covers one split of the stream.
  const uint8_t chunk_seed = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  Reply reply = parse_reply(input);
  (void)reply.text();
  (void)reply.raw();
  (void)reply.one_line();
  if (reply.enhanced && reply.code != 0 && reply.enhanced->cls != reply.code / 100)
    __builtin_trap();  // documented: the class digit agrees with the basic code
  if (auto code = find_enhanced_code(input)) (void)code->str();
  if (auto code = parse_enhanced_code(input)) {
    if (code->cls != 2 && code->cls != 4 && code->cls != 5) __builtin_trap();
  }
  Reply from_status =
      reply_from_status(input.substr(0, input.size() / 2), input.substr(input.size() / 2));
  (void)from_status.one_line();

  ReplyReader reader(256, 8);
  std::string_view rest = input;
  size_t step = 0;
  while (!rest.empty() && !reader.failed()) {
    size_t chunk = 1 + (static_cast<size_t>(chunk_seed) * 31 + step * 7) % 17;
    ++step;
    std::string_view piece = rest.substr(0, chunk);
    size_t used = reader.feed(piece);
    if (used > piece.size()) __builtin_trap();
    rest.remove_prefix(used);
    if (reader.ready()) {
      Reply r = reader.take();
      (void)r.one_line();
    } else if (used == 0 && !reader.failed()) {
      __builtin_trap();  // neither progress nor a reply nor a failure: the caller would spin
    }
  }
  return 0;
}
