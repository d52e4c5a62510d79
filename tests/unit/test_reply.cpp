// SMTP reply parsing: table-driven cases, enhanced-code extraction and cleaning, byte-by-byte
// feeding.
#include <gtest/gtest.h>

#include "core/received_reply.hpp"

namespace bouncegate {
namespace {

struct ReplyCase {
  const char* input;
  bool valid;
  int code;
  const char* enhanced;  // "" for none
  const char* text;
};

class ParseReply : public ::testing::TestWithParam<ReplyCase> {};

TEST_P(ParseReply, ExtractsCodeEnhancedAndText) {
  const auto& c = GetParam();
  Reply r = parse_reply(c.input);
  ASSERT_EQ(r.valid, c.valid) << c.input << " error=" << r.error;
  if (!c.valid) {
    EXPECT_FALSE(r.error.empty());
    return;
  }
  EXPECT_EQ(r.code, c.code);
  EXPECT_EQ(r.enhanced ? r.enhanced->str() : "", c.enhanced);
  EXPECT_EQ(r.text(), c.text);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseReply,
    ::testing::Values(
        ReplyCase{"250 2.0.0 OK queued as 12345", true, 250, "2.0.0", "2.0.0 OK queued as 12345"},
        ReplyCase{"550 5.1.1 <a@b.example>: Recipient address rejected", true, 550, "5.1.1",
                  "5.1.1 <a@b.example>: Recipient address rejected"},
        ReplyCase{"550-5.7.26 This mail is unauthenticated\r\n550 5.7.26 See DMARC\r\n", true, 550,
                  "5.7.26", "5.7.26 This mail is unauthenticated 5.7.26 See DMARC"},
        ReplyCase{"550 5.4.310 DNS domain does not exist", true, 550, "5.4.310",
                  "5.4.310 DNS domain does not exist"},
        ReplyCase{"452 4.2.121 rate exceeded", true, 452, "4.2.121", "4.2.121 rate exceeded"},
        ReplyCase{"553 sorry, that domain isn't in my list (#5.7.1)", true, 553, "5.7.1",
                  "sorry, that domain isn't in my list (#5.7.1)"},
        // Postfix's rule: a class digit that disagrees with the reply code becomes x.0.0.
        ReplyCase{"550 4.2.2 mailbox full", true, 550, "5.0.0", "4.2.2 mailbox full"},
        ReplyCase{"450 5.1.1 unknown", true, 450, "4.0.0", "5.1.1 unknown"},
        // An IP address is not an enhanced code.
        ReplyCase{"554 rejected from 5.1.1.1 by policy", true, 554, "",
                  "rejected from 5.1.1.1 by policy"},
        ReplyCase{"421", true, 421, "", ""},
        ReplyCase{"220-first\n220 second", true, 220, "", "first second"},
        ReplyCase{"", false, 0, "", ""}, ReplyCase{"hello world", false, 0, "", ""},
        ReplyCase{"55", false, 0, "", ""}, ReplyCase{"999 nope", false, 0, "", ""},
        ReplyCase{"250-a\r\n550 b", false, 0, "", ""},
        ReplyCase{"250x no separator", false, 0, "", ""}));

TEST(EnhancedCode, ParsesThreeDigitSubjectsAndDetails) {
  EXPECT_EQ(parse_enhanced_code("5.4.310")->str(), "5.4.310");
  EXPECT_EQ(parse_enhanced_code("5.2.121")->str(), "5.2.121");
  EXPECT_FALSE(parse_enhanced_code("5.1"));
  EXPECT_FALSE(parse_enhanced_code("3.1.1"));
  EXPECT_FALSE(parse_enhanced_code("5.1.1234"));
  EXPECT_FALSE(parse_enhanced_code("5.1.1 x"));
}

TEST(EnhancedCode, FindsCodesWrittenInsideText) {
  EXPECT_EQ(find_enhanced_code("Mailbox unavailable [5.1.1]")->str(), "5.1.1");
  EXPECT_EQ(find_enhanced_code("Sorry (#5.1.1)")->str(), "5.1.1");
  EXPECT_EQ(find_enhanced_code("#5.0.0 X-Unix; 550")->str(), "5.0.0");
  EXPECT_FALSE(find_enhanced_code("host 10.5.1.1 said no"));
}

TEST(ReplyFromStatus, UsesDiagnosticReplyWhenItIsOne) {
  Reply r = reply_from_status("5.1.1", "550 5.1.1 <x@y>: user unknown");
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.enhanced->str(), "5.1.1");
  Reply s = reply_from_status("5.2.2", "mailbox is full");
  ASSERT_TRUE(s.valid);
  EXPECT_EQ(s.code, 0);
  EXPECT_EQ(s.enhanced->str(), "5.2.2");
  EXPECT_FALSE(reply_from_status("", "").valid);
}

TEST(ReplyReader, FeedsByteByByteAndSplitsPipelinedReplies) {
  std::string wire = "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n550 5.1.1 no\r\n";
  ReplyReader rd;
  std::vector<Reply> got;
  for (char c : wire) {
    size_t used = rd.feed(std::string_view(&c, 1));
    EXPECT_EQ(used, 1u);
    if (rd.ready()) got.push_back(rd.take());
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].code, 250);
  EXPECT_EQ(got[0].lines.size(), 3u);
  EXPECT_EQ(got[1].code, 550);
  EXPECT_EQ(got[1].enhanced->str(), "5.1.1");
}

TEST(ReplyReader, StopsAfterOneReplyInABatch) {
  ReplyReader rd;
  std::string wire = "250 ok\r\n354 go\r\n";
  size_t used = rd.feed(wire);
  EXPECT_EQ(used, 8u);
  ASSERT_TRUE(rd.ready());
  EXPECT_EQ(rd.take().code, 250);
  rd.feed(std::string_view(wire).substr(used));
  ASSERT_TRUE(rd.ready());
  EXPECT_EQ(rd.take().code, 354);
}

TEST(ReplyReader, FailsOnOverlongLine) {
  ReplyReader rd(64);
  rd.feed(std::string(100, 'x'));
  EXPECT_TRUE(rd.failed());
}

TEST(Reply, GarbageNeverCrashes) {
  std::string junk;
  for (int i = 0; i < 2000; ++i) {
    junk += static_cast<char>((i * 131 + 7) % 256);
    Reply r = parse_reply(junk);
    (void)find_enhanced_code(junk);
    if (r.valid) {
      EXPECT_GE(r.code, 200);
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace bouncegate

namespace bouncegate {
namespace {

TEST(EmbeddedReply, FoundInsideTranscripts) {
  Reply r =
      reply_from_status("5.0.0",
                        "SMTP error from remote mail server after RCPT TO:<a@b.example>: "
                        "host mx.b.example [192.0.2.1]: 550 5.1.1 <a@b.example>: no such user");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.enhanced->str(), "5.1.1");
  EXPECT_NE(r.text().find("SMTP error from remote mail server"), std::string::npos);
  // A bracketed reply ends at its bracket; the prose after it is not part of it.
  Reply q = reply_from_status("5.1.1",
                              "It responded as follows: [550 5.1.1 User unknown] The attachment");
  EXPECT_EQ(q.code, 550);
  EXPECT_EQ(q.text().find("attachment"), std::string::npos);
  // IP addresses and numbers inside words are not reply codes.
  EXPECT_FALSE(find_embedded_reply("host 192.0.2.1 said nothing useful"));
  EXPECT_FALSE(find_embedded_reply("order 5501 failed"));
  // With a status, only a code of the same class counts.
  EXPECT_FALSE(find_embedded_reply("got 421 earlier", 5));
}

}  // namespace
}  // namespace bouncegate
