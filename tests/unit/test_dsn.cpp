// Unit tests for the bounce/complaint parser: crafted DSNs, ARF reports, free-text bounces,
// auto-replies, encodings, and robustness against truncated or garbage input.
#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "core/dsn.hpp"

namespace bouncegate {
namespace {

std::string crlf(const std::string& lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

const std::string kMultiRecipientDsn =
    "Return-Path: <>\n"
    "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n"
    "To: sender@example.org\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"BOUND-1\"\n"
    "\n"
    "--BOUND-1\n"
    "Content-Type: text/plain\n"
    "\n"
    "I'm sorry to have to inform you that your message could not be delivered.\n"
    "\n"
    "--BOUND-1\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.net\n"
    "Arrival-Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
    "\n"
    "Final-Recipient: rfc822; Alice@Example.COM\n"
    "Original-Recipient: rfc822;alice@example.com\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; mx1.example.com\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <alice@example.com>: Recipient address\n"
    "    rejected: User unknown in virtual mailbox table\n"
    "\n"
    "Final-Recipient: rfc822; <bob@example.com>\n"
    "Action: delayed\n"
    "Status: 4.4.1\n"
    "Diagnostic-Code: X-Postfix; connect to mx.example.com[192.0.2.1]:25: Connection\n"
    " timed out\n"
    "\n"
    "--BOUND-1\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "From: sender@example.org\n"
    "To: alice@example.com, bob@example.com\n"
    "Message-ID: <orig-123@example.org>\n"
    "Subject: hello\n"
    "\n"
    "--BOUND-1--\n";

struct ExpectedRecipient {
  std::string recipient;
  std::string status;
  std::string action;
};

struct Scenario {
  std::string name;
  std::string raw;
  FeedbackKind kind;
  std::vector<ExpectedRecipient> recipients;
  std::string message_id;  // checked when non-empty
};

std::string dsn_with_status_part(const std::string& part_headers, const std::string& part_body) {
  return "From: MAILER-DAEMON@mx.example.net\n"
         "Subject: Delivery Status Notification (Failure)\n"
         "Content-Type: multipart/report; report-type=delivery-status; boundary=b1\n"
         "\n"
         "--b1\n"
         "Content-Type: text/plain\n"
         "\n"
         "Delivery failed.\n"
         "--b1\n" +
         part_headers + "\n" + part_body + "--b1--\n";
}

std::vector<Scenario> scenarios() {
  std::vector<Scenario> v;
  v.push_back({"MultiRecipientDsnWithFoldedDiagnostic",
               kMultiRecipientDsn,
               FeedbackKind::dsn,
               {{"Alice@example.com", "5.1.1", "failed"}, {"bob@example.com", "4.4.1", "delayed"}},
               "orig-123@example.org"});
  v.push_back({"SameDsnWithCrlfLineEnds",
               crlf(kMultiRecipientDsn),
               FeedbackKind::dsn,
               {{"Alice@example.com", "5.1.1", "failed"}, {"bob@example.com", "4.4.1", "delayed"}},
               "orig-123@example.org"});
  v.push_back({"Base64EncodedDeliveryStatusPart",
               dsn_with_status_part("Content-Type: message/delivery-status\n"
                                    "Content-Transfer-Encoding: base64\n",
                                    // "Final-Recipient: rfc822; carol@example.net\nAction: failed
                                    // \nStatus: 5.2.2\n"
                                    "RmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGNhcm9sQGV4YW1wbGUubmV0\n"
                                    "CkFjdGlvbjogZmFpbGVkClN0YXR1czogNS4yLjIK\n"),
               FeedbackKind::dsn,
               {{"carol@example.net", "5.2.2", "failed"}},
               ""});
  v.push_back({"QuotedPrintableDeliveryStatusPart",
               dsn_with_status_part("Content-Type: message/delivery-status\n"
                                    "Content-Transfer-Encoding: quoted-printable\n",
                                    "Final-Recipient: rfc822; dave=3Dx@example.net\n"
                                    "Action: failed\n"
                                    "Status: 5.7.1\n"
                                    "Diagnostic-Code: smtp; 550 5.7.1 rejected by po=\n"
                                    "licy\n"),
               FeedbackKind::dsn,
               {{"dave=x@example.net", "5.7.1", "failed"}},
               ""});
  v.push_back({"MissingStatusTakenFromDiagnostic",
               dsn_with_status_part("Content-Type: message/delivery-status\n",
                                    "Final-Recipient: rfc822; erin@example.net\n"
                                    "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n"),
               FeedbackKind::dsn,
               {{"erin@example.net", "5.2.2", "failed"}},  // action inferred from the class
               ""});
  v.push_back({"GenericStatusRefinedByDiagnostic",
               dsn_with_status_part("Content-Type: message/delivery-status\n",
                                    "Final-Recipient: rfc822; erin@example.net\n"
                                    "Action: failed\n"
                                    "Status: 5.0.0\n"
                                    "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n"),
               FeedbackKind::dsn,
               {{"erin@example.net", "5.1.1", "failed"}},
               ""});
  v.push_back({"GlobalDeliveryStatusRfc6533",
               dsn_with_status_part("Content-Type: message/global-delivery-status\n",
                                    "Final-Recipient: rfc822; frank@example.net\n"
                                    "Action: failed\n"
                                    "Status: 5.1.2\n"),
               FeedbackKind::dsn,
               {{"frank@example.net", "5.1.2", "failed"}},
               ""});
  v.push_back({"TextPlainMasqueradingAsDeliveryStatus",
               dsn_with_status_part("Content-Type: text/plain\n",
                                    "Reporting-MTA: dns; mx.example.net\n\n"
                                    "Final-Recipient: RFC822; gina@example.net\n"
                                    "Action: failed\n"
                                    "Status: 5.1.1\n"),
               FeedbackKind::dsn,
               {{"gina@example.net", "5.1.1", "failed"}},
               ""});
  v.push_back({"NestedMultipartAndUnquotedBoundary",
               "From: postmaster@example.net\n"
               "Subject: Returned mail\n"
               "Content-Type: multipart/mixed; boundary=outer\n"
               "\n"
               "--outer\n"
               "Content-Type: multipart/report; report-type=delivery-status; boundary=\"in ner\"\n"
               "\n"
               "--in ner\n"
               "Content-Type: message/delivery-status\n"
               "\n"
               "Final-Recipient: rfc822;hank@example.org\n"
               "Action: failed\n"
               "Status: 5.4.4\n"
               "--in ner--\n"
               "--outer--\n",
               FeedbackKind::dsn,
               {{"hank@example.org", "5.4.4", "failed"}},
               ""});
  v.push_back({"ArfAbuseReport",
               "From: fbl@isp.example\n"
               "To: abuse@sender.example\n"
               "Subject: complaint\n"
               "Content-Type: multipart/report; report-type=feedback-report; boundary=\"arf\"\n"
               "\n"
               "--arf\n"
               "Content-Type: text/plain\n"
               "\n"
               "This is an email abuse report.\n"
               "--arf\n"
               "Content-Type: message/feedback-report\n"
               "\n"
               "Feedback-Type: abuse\n"
               "User-Agent: SomeGenerator/1.0\n"
               "Version: 1\n"
               "Original-Mail-From: <sender@sender.example>\n"
               "Original-Rcpt-To: <user@isp.example>\n"
               "Reporting-MTA: dns; mail.isp.example\n"
               "\n"
               "--arf\n"
               "Content-Type: message/rfc822\n"
               "\n"
               "From: sender@sender.example\n"
               "To: user@isp.example\n"
               "Message-ID: <spam-1@sender.example>\n"
               "Subject: buy now\n"
               "\n"
               "body\n"
               "--arf--\n",
               FeedbackKind::arf,
               {{"user@isp.example", "", "failed"}},
               "spam-1@sender.example"});
  v.push_back({"ArfWithoutRcptToUsesEnclosedTo",
               "From: fbl@isp.example\n"
               "Subject: complaint\n"
               "Content-Type: multipart/report; report-type=feedback-report; boundary=x\n"
               "\n"
               "--x\n"
               "Content-Type: message/feedback-report\n"
               "\n"
               "Feedback-Type: opt-out\n"
               "\n"
               "--x\n"
               "Content-Type: text/rfc822-headers\n"
               "\n"
               "To: \"Some One\" <someone@isp.example>\n"
               "Message-ID: <m2@sender.example>\n"
               "--x--\n",
               FeedbackKind::arf,
               {{"someone@isp.example", "", "failed"}},
               "m2@sender.example"});
  v.push_back(
      {"QmailStyleBounce",
       "From: MAILER-DAEMON@mx.example.jp\n"
       "To: sender@example.org\n"
       "Subject: failure notice\n"
       "\n"
       "Hi. This is the qmail-send program at mx.example.jp.\n"
       "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
       "\n"
       "<ivan@example.ne.jp>:\n"
       "192.0.2.1 does not like recipient.\n"
       "Remote host said: 550 5.1.1 <ivan@example.ne.jp>... User unknown\n"
       "\n"
       "<judy@example.ne.jp>:\n"
       "Remote host said: 552 5.2.2 mailbox full\n"
       "\n"
       "--- Below this line is a copy of the message.\n"
       "\n"
       "Return-Path: <sender@example.org>\n"
       "From: sender@example.org\n"
       "To: ivan@example.ne.jp\n"
       "Message-ID: <q1@example.org>\n"
       "Subject: hi\n",
       FeedbackKind::nonstandard_bounce,
       {{"ivan@example.ne.jp", "5.1.1", "failed"}, {"judy@example.ne.jp", "5.2.2", "failed"}},
       "q1@example.org"});
  v.push_back({"EximStyleWithXFailedRecipients",
               "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
               "To: sender@example.com\n"
               "X-Failed-Recipients: kim@example.net\n"
               "Auto-Submitted: auto-replied\n"
               "Subject: Mail delivery failed: returning message to sender\n"
               "\n"
               "This message was created automatically by mail delivery software.\n"
               "\n"
               "A message that you sent could not be delivered to one or more of its\n"
               "recipients. This is a permanent error. The following address(es) failed:\n"
               "\n"
               "  kim@example.net\n"
               "    SMTP error from remote mail server after RCPT TO:<kim@example.net>:\n"
               "    host mx.example.net [192.0.2.20]: 550 5.1.1 <kim@example.net>: User unknown\n",
               FeedbackKind::nonstandard_bounce,
               {{"kim@example.net", "5.1.1", "failed"}},
               ""});
  v.push_back({"SendmailTranscriptStyle",
               "From: Mail Delivery Subsystem <MAILER-DAEMON@example.com>\n"
               "To: sender@example.jp\n"
               "Subject: Returned mail: User unknown\n"
               "\n"
               "   ----- Transcript of session follows -----\n"
               ">>> RCPT To:<leo@example.co.jp>\n"
               "<<< 550 Requested User Mailbox not found.\n"
               "550 <leo@example.co.jp>... User unknown\n",
               FeedbackKind::nonstandard_bounce,
               {{"leo@example.co.jp", "", "failed"}},
               ""});
  v.push_back({"DsnWithoutRecipientUsesVerpTo",
               "From: MAILER-DAEMON@mx.example.net\n"
               "To: bounces+mia=example.com@bounce.example.org\n"
               "Subject: Undeliverable\n"
               "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
               "\n"
               "--b\n"
               "Content-Type: message/delivery-status\n"
               "\n"
               "Reporting-MTA: dns; mx.example.net\n"
               "\n"
               "Action: failed\n"
               "Status: 5.1.1\n"
               "--b--\n",
               FeedbackKind::dsn,
               {{"mia@example.com", "5.1.1", "failed"}},
               ""});
  v.push_back({"AutoReplyIsIgnored",
               "From: Nina <nina@example.com>\n"
               "To: sender@example.org\n"
               "Auto-Submitted: auto-replied\n"
               "Subject: Out of Office: hello\n"
               "\n"
               "I am away until Monday.\n",
               FeedbackKind::ignored,
               {},
               ""});
  v.push_back({"AutomaticReplySubjectIsIgnored",
               "From: oscar@example.com\n"
               "Subject: Automatic reply: hello\n"
               "\n"
               "Thanks for your message.\n",
               FeedbackKind::ignored,
               {},
               ""});
  v.push_back({"OrdinaryMessageIsIgnored",
               "From: pat@example.com\nTo: quinn@example.org\nSubject: lunch?\n\nNoon?\n",
               FeedbackKind::ignored,
               {},
               ""});
  v.push_back({"EmptyInputIsNotAMessage", "", FeedbackKind::not_a_message, {}, ""});
  v.push_back({"ProseIsNotAMessage",
               "hello world, this is not mail\n",
               FeedbackKind::not_a_message,
               {},
               ""});
  v.push_back({"BinaryIsNotAMessage",
               std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16),
               FeedbackKind::not_a_message,
               {},
               ""});
  return v;
}

void PrintTo(const Scenario& s, std::ostream* os) {
  *os << s.name;
}

class ParseFeedbackScenario : public ::testing::TestWithParam<Scenario> {};

TEST_P(ParseFeedbackScenario, ExtractsExpectedValues) {
  const Scenario& s = GetParam();
  ParsedFeedback p = parse_feedback(s.raw);
  EXPECT_EQ(to_string(p.kind), std::string(to_string(s.kind))) << p.reason;
  ASSERT_EQ(p.recipients.size(), s.recipients.size());
  for (std::size_t i = 0; i < s.recipients.size(); ++i) {
    EXPECT_EQ(p.recipients[i].recipient, s.recipients[i].recipient) << "recipient " << i;
    EXPECT_EQ(p.recipients[i].status, s.recipients[i].status) << "recipient " << i;
    EXPECT_EQ(p.recipients[i].action, s.recipients[i].action) << "recipient " << i;
  }
  if (!s.message_id.empty()) {
    EXPECT_EQ(p.original_message_id, s.message_id);
  }
  if (s.kind == FeedbackKind::ignored || s.kind == FeedbackKind::not_a_message) {
    EXPECT_FALSE(p.reason.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Dsn, ParseFeedbackScenario, ::testing::ValuesIn(scenarios()),
                         [](const auto& info) { return info.param.name; });

TEST(ParseFeedback, DsnDetailFields) {
  ParsedFeedback p = parse_feedback(kMultiRecipientDsn);
  ASSERT_EQ(p.recipients.size(), 2u);
  EXPECT_EQ(p.reporting_mta, "mx.example.net");
  const FailedRecipient& a = p.recipients[0];
  EXPECT_EQ(a.original_recipient, "alice@example.com");
  EXPECT_EQ(a.remote_mta, "mx1.example.com");
  EXPECT_EQ(a.diagnostic,
            "550 5.1.1 <alice@example.com>: Recipient address rejected: User unknown in virtual "
            "mailbox table");
  EXPECT_EQ(a.reply_code, "550");
  EXPECT_EQ(a.feedback_type, "");
  EXPECT_EQ(p.recipients[1].diagnostic,
            "connect to mx.example.com[192.0.2.1]:25: Connection timed out");
}

TEST(ParseFeedback, ArfFeedbackType) {
  for (const Scenario& s : scenarios()) {
    if (s.kind != FeedbackKind::arf) continue;
    ParsedFeedback p = parse_feedback(s.raw);
    ASSERT_FALSE(p.recipients.empty()) << s.name;
    EXPECT_TRUE(p.recipients[0].feedback_type == "abuse" ||
                p.recipients[0].feedback_type == "opt-out")
        << s.name;
  }
}

TEST(ParseFeedback, AutoReplyReasonMentionsAutoReply) {
  ParsedFeedback p = parse_feedback(
      "From: a@example.com\nAuto-Submitted: auto-replied\nSubject: Away\n\nOff today.\n");
  EXPECT_EQ(p.kind, FeedbackKind::ignored);
  EXPECT_NE(p.reason.find("auto-reply"), std::string::npos) << p.reason;
}

TEST(ParseFeedback, MboxFromLineIsSkipped) {
  ParsedFeedback p =
      parse_feedback("From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n" + kMultiRecipientDsn);
  EXPECT_EQ(p.kind, FeedbackKind::dsn);
  EXPECT_EQ(p.recipients.size(), 2u);
}

TEST(ParseFeedback, TruncatedMessageKeepsWhatArrived) {
  const std::size_t cut = kMultiRecipientDsn.find("Final-Recipient: rfc822; <bob");
  ASSERT_NE(cut, std::string::npos);
  ParsedFeedback p = parse_feedback(kMultiRecipientDsn.substr(0, cut));
  EXPECT_EQ(p.kind, FeedbackKind::dsn);
  ASSERT_EQ(p.recipients.size(), 1u);
  EXPECT_EQ(p.recipients[0].recipient, "Alice@example.com");
  EXPECT_EQ(p.recipients[0].status, "5.1.1");
}

TEST(ParseFeedback, EveryPrefixParsesWithoutCrashing) {
  for (const std::string& sample : {kMultiRecipientDsn, crlf(kMultiRecipientDsn)}) {
    for (std::size_t n = 0; n <= sample.size(); ++n) {
      ParsedFeedback p = parse_feedback(std::string_view(sample).substr(0, n));
      EXPECT_LE(p.recipients.size(), 2u) << "prefix " << n;
    }
  }
  for (const Scenario& s : scenarios())
    for (std::size_t n = 0; n <= s.raw.size(); ++n) (void)parse_feedback(s.raw.substr(0, n));
}

TEST(ParseFeedback, EightBitGarbageDoesNotCrash) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 200; ++round) {
    std::string junk(static_cast<std::size_t>(round * 37 % 3000), '\0');
    for (char& c : junk) c = static_cast<char>(byte(rng));
    (void)parse_feedback(junk);
    // Garbage after a plausible header block, and inside a DSN body.
    (void)parse_feedback("From: MAILER-DAEMON@x.example\nSubject: Undelivered\n\n" + junk);
    std::string mixed = kMultiRecipientDsn;
    mixed.insert(mixed.size() / 2, junk);
    (void)parse_feedback(mixed);
  }
  ParsedFeedback p = parse_feedback(std::string(4096, '\xff'));
  EXPECT_EQ(p.kind, FeedbackKind::not_a_message);
}

TEST(ParseFeedback, DeepNestingIsBounded) {
  std::string msg = "From: MAILER-DAEMON@x.example\nSubject: Undelivered\n";
  for (int i = 0; i < 200; ++i)
    msg += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
           std::to_string(i) + "\n";
  msg += "Content-Type: text/plain\n\n<x@example.com>: 550 5.1.1 unknown\n";
  ParsedFeedback p = parse_feedback(msg);
  EXPECT_NE(p.kind, FeedbackKind::not_a_message);
}

struct VerpCase {
  std::string input;
  std::optional<std::string> expected;
};

void PrintTo(const VerpCase& c, std::ostream* os) {
  *os << c.input;
}

class DecodeVerp : public ::testing::TestWithParam<VerpCase> {};

TEST_P(DecodeVerp, DecodesOrRejects) {
  EXPECT_EQ(decode_verp(GetParam().input), GetParam().expected) << GetParam().input;
}

INSTANTIATE_TEST_SUITE_P(
    Verp, DecodeVerp,
    ::testing::Values(VerpCase{"bounces+alice=example.com@bounce.example.com", "alice@example.com"},
                      VerpCase{"<bounces+bob.smith=Sub.Example.ORG@b.example>",
                               "bob.smith@sub.example.org"},
                      VerpCase{"list-return-carol=example.net@lists.example", "carol@example.net"},
                      VerpCase{"alice@example.com", std::nullopt},
                      VerpCase{"bounces+nodomain@bounce.example.com", std::nullopt},
                      VerpCase{"bounces+a=localhost@bounce.example.com", std::nullopt},
                      VerpCase{"", std::nullopt}, VerpCase{"@", std::nullopt}));

}  // namespace
}  // namespace bouncegate
