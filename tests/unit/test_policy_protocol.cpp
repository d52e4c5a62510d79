// The SMTPD access policy protocol's reading (bounded, strict) and answers.
#include <gtest/gtest.h>

#include <vector>

#include "milter/policy_protocol.hpp"

namespace bouncegate::milter {
namespace {

TEST(PolicyProtocol, RequestsSplitAnywhereAndBackToBack) {
  PolicyRequestReader r;
  std::string err;
  r.feed("request=smtpd_access_policy\nprotocol_state=RC");
  EXPECT_FALSE(r.next(&err));
  r.feed("PT\nrecipient=a@x.example\n");
  EXPECT_FALSE(r.next(&err));
  r.feed("\nrequest=smtpd_access_policy\nrecipient=b@x.example\n\n");
  auto one = r.next(&err);
  ASSERT_TRUE(one);
  EXPECT_EQ((*one)["protocol_state"], "RCPT");
  EXPECT_EQ((*one)["recipient"], "a@x.example");
  auto two = r.next(&err);
  ASSERT_TRUE(two);
  EXPECT_EQ((*two)["recipient"], "b@x.example");
  EXPECT_FALSE(r.next(&err));
  EXPECT_TRUE(err.empty());
}

TEST(PolicyProtocol, ValuesKeepEqualsSignsAndMayBeEmpty) {
  PolicyRequestReader r;
  std::string err;
  r.feed("sender=\nccert_subject=CN=a=b\n\n");
  auto q = r.next(&err);
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)["sender"], "");
  EXPECT_EQ((*q)["ccert_subject"], "CN=a=b");
}

TEST(PolicyProtocol, BrokenInputEndsTheConnection) {
  const std::vector<std::string> bads = {"no-equals-sign\n\n", "=value\n\n", "a=1\na=2\n\n",
                                         "a=x\ry\n\n", std::string("a=x\0y\n\n", 8)};
  for (const std::string& bad : bads) {
    PolicyRequestReader r;
    std::string err;
    r.feed(bad);
    EXPECT_FALSE(r.next(&err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
  PolicyRequestReader longline;
  std::string err;
  longline.feed(std::string(9000, 'a'));  // no newline yet, already over the bound
  EXPECT_FALSE(longline.next(&err));
  EXPECT_NE(err.find("8192"), std::string::npos);
  PolicyRequestReader many;
  std::string req;
  for (int i = 0; i < 200; ++i) req += "a" + std::to_string(i) + "=v\n";
  many.feed(req + "\n");
  err.clear();
  EXPECT_FALSE(many.next(&err));
  EXPECT_NE(err.find("128 attributes"), std::string::npos);
}

TEST(PolicyProtocol, AnswersAreOneLineWhateverTheReplyText) {
  EXPECT_EQ(policy_dunno(), "action=DUNNO\n\n");
  SmtpReplyText r{"550", "5.1.1", "<a@x>: suppressed\r\naction=OK"};
  EXPECT_EQ(policy_answer(r), "action=550 5.1.1 <a@x>: suppressed  action=OK\n\n");
  EXPECT_EQ(policy_answer(SmtpReplyText{"451", "", "later"}), "action=451 later\n\n");
}

}  // namespace
}  // namespace bouncegate::milter
