// Request body framing (RFC 9112 6.1, 6.3): one reading of every request, or a refusal.
#include <gtest/gtest.h>

#include "web/message_framing.hpp"

namespace bouncegate {
namespace {

TEST(BodyFraming, OnlyAFinalChunkedFrames) {
  struct Row {
    const char* te;
    bool content_length;
    BodyFraming want;
  } rows[] = {
      {"", false, BodyFraming::ok},
      {"", true, BodyFraming::ok},
      {"chunked", false, BodyFraming::ok},
      {"Chunked", false, BodyFraming::ok},
      {" chunked ", false, BodyFraming::ok},
      {"xchunked", false, BodyFraming::bad_request},
      {"chunkedx", false, BodyFraming::bad_request},
      {"chunked, identity", false, BodyFraming::bad_request},
      {"chunked,chunked", false, BodyFraming::bad_request},
      {"identity", false, BodyFraming::bad_request},
      {"chunked;q=1", false, BodyFraming::bad_request},
      {"chunked", true, BodyFraming::bad_request},
      {"gzip, chunked", false, BodyFraming::not_implemented},
      {",", false, BodyFraming::bad_request},
  };
  for (const auto& r : rows) EXPECT_EQ(body_framing(r.te, r.content_length), r.want) << r.te;
}

}  // namespace
}  // namespace bouncegate
