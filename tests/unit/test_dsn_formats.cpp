// Bounce and complaint formats beyond a plain RFC 3464/5965 report: a report forwarded as an
// attachment, Microsoft JMRP complaints, and bounces that name nobody (the returned original's
// To: is never taken for the bounced recipient).
#include <gtest/gtest.h>

#include "core/dsn.hpp"
#include "core/dsn_detail.hpp"
#include "tests/support/dsn_samples.hpp"

namespace bouncegate {
namespace {

TEST(DsnFormats, ReportForwardedAsAnAttachmentIsRead) {
  std::string dsn = test::sample_dsn({{"gone@dest.example", "failed", "5.1.1", ""}},
                                     "bounces@bounce.example.com", "orig-fw@example.com");
  std::string wrapper =
      "From: helpdesk@example.com\r\nTo: bounces@bounce.example.com\r\n"
      "Subject: Fwd: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"fw\"\r\n\r\n"
      "--fw\r\nContent-Type: text/plain\r\n\r\nForwarding this bounce for "
      "someone@example.com.\r\n"
      "--fw\r\nContent-Type: message/rfc822\r\n\r\n" +
      dsn + "\r\n--fw--\r\n";
  ParsedFeedback fb = parse_feedback(wrapper);
  EXPECT_EQ(fb.kind, FeedbackKind::dsn) << fb.reason;
  ASSERT_EQ(fb.recipients.size(), 1u);
  EXPECT_EQ(fb.recipients[0].recipient, "gone@dest.example");
  EXPECT_EQ(fb.recipients[0].status, "5.1.1");
  EXPECT_EQ(fb.original_message_id, "orig-fw@example.com");
}

// Microsoft's JMRP: the complaint is the returned original with X-HmXmrOriginalRecipient.
TEST(DsnFormats, MicrosoftJmrpComplaintNamesTheComplainer) {
  std::string jmrp =
      "From: staff@hotmail.com\r\nTo: abuse@example.com\r\n"
      "Subject: complaint about message from 192.0.2.1\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"jm\"\r\n\r\n"
      "--jm\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n"
      "--jm\r\nContent-Type: message/rfc822\r\n\r\n"
      "X-HmXmrOriginalRecipient: <Complainer@Outlook.com>\r\n"
      "From: news@example.com\r\nTo: list@example.com\r\nMessage-ID: <jmrp-1@example.com>\r\n"
      "Subject: our news\r\n\r\nhello\r\n--jm--\r\n";
  ParsedFeedback fb = parse_feedback(jmrp);
  EXPECT_EQ(fb.kind, FeedbackKind::arf) << fb.reason;
  ASSERT_EQ(fb.recipients.size(), 1u);
  EXPECT_EQ(fb.recipients[0].recipient, "Complainer@outlook.com");
  EXPECT_EQ(fb.recipients[0].feedback_type, "abuse");
  EXPECT_EQ(fb.original_message_id, "jmrp-1@example.com");
}

TEST(DsnFormats, ReturnedOriginalsToIsNeverTheBouncedRecipient) {
  std::string bounce =
      "From: MAILER-DAEMON@mx.example.net\r\nTo: app@example.com\r\n"
      "Subject: Undeliverable: hello\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"nd\"\r\n\r\n"
      "--nd\r\nContent-Type: text/plain\r\n\r\nDelivery has failed to these recipients or "
      "groups. The message could not be delivered. Your message wasn't delivered.\r\n"
      "--nd\r\nContent-Type: message/rfc822\r\n\r\n"
      "From: app@example.com\r\nTo: whole-list@example.org\r\nMessage-ID: <nd-1@example.com>\r\n"
      "Subject: hello\r\n\r\nbody\r\n--nd--\r\n";
  ParsedFeedback fb = parse_feedback(bounce);
  for (const auto& r : fb.recipients) EXPECT_NE(r.recipient, "whole-list@example.org");
}

namespace bouncegate {
namespace {

// RFC 6533: a utf-8 address type writes code points as \x{HEX}; RFC 2047 encoded-words appear
// in recipients written by some MTAs. Both name the same mailbox as the plain UTF-8 form.
TEST(DsnFormats, Utf8AndEncodedWordRecipientsAreDecoded) {
  std::string dsn =
      "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@bounce.example.com\r\n"
      "Subject: Delivery Status Notification (Failure)\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
      "--b\r\nContent-Type: message/global-delivery-status\r\n\r\n"
      "Reporting-MTA: dns; mx.example.net\r\n\r\n"
      "Final-Recipient: utf-8; j\\x{00F8}rn@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
      "Final-Recipient: rfc822; =?utf-8?Q?m=C3=BCller?=@example.org\r\nAction: failed\r\n"
      "Status: 5.1.1\r\n\r\n"
      "--b--\r\n";
  ParsedFeedback fb = parse_feedback(dsn);
  ASSERT_EQ(fb.recipients.size(), 2u) << fb.reason;
  EXPECT_EQ(fb.recipients[0].recipient, "j\xC3\xB8rn@example.org");
  EXPECT_EQ(fb.recipients[1].recipient, "m\xC3\xBCller@example.org");
}

// Exchange NDRs name the recipient in the human text; the diagnostic may carry an IMCEAEX
// (X.500) address that is no mailbox, or an IMCEASMTP one that wraps the SMTP address.
TEST(DsnFormats, ExchangeNdrRecipientFromTheTextNotTheX500Address) {
  std::string ndr =
      "From: postmaster@contoso.example\r\nTo: app@example.com\r\nSubject: Undeliverable: hi\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n"
      "--x\r\nContent-Type: text/plain\r\n\r\nDelivery has failed to these recipients or "
      "groups:\r\n\r\nJohn Smith (john.smith@contoso.example)\r\nThe e-mail address you entered "
      "couldn't be found.\r\n\r\nDiagnostic information for administrators:\r\n\r\n"
      "IMCEAEX-_O=CONTOSO_OU=EXCHANGE+20ADMINISTRATIVE+20GROUP_CN=RECIPIENTS_CN=john.smith@"
      "contoso.example\r\n#550 5.1.1 RESOLVER.ADR.ExRecipNotFound; not found ##\r\n\r\n"
      "--x\r\nContent-Type: message/rfc822\r\n\r\nFrom: app@example.com\r\n"
      "To: all-staff@contoso.example\r\nMessage-ID: <x1@example.com>\r\nSubject: hi\r\n\r\nhi\r\n"
      "--x--\r\n";
  ParsedFeedback fb = parse_feedback(ndr);
  ASSERT_EQ(fb.recipients.size(), 1u) << fb.reason;
  EXPECT_EQ(fb.recipients[0].recipient, "john.smith@contoso.example");
  // The local part after "IMCEASMTP-" holds the whole address.
  EXPECT_EQ(dsn_detail::decode_imcea_smtp("jane+2Edoe+40fabrikam+2Eexample"),
            "jane.doe@fabrikam.example");
}

}  // namespace
}  // namespace bouncegate

// Free-text reasons belong to the recipient they follow (Exim repeats the listing; Lotus Notes
// and IMail write the reason before or above the address; a forwarded bounce quotes headers).
std::string free_text_bounce(const std::string& body) {
  return "From: Mail Delivery System <mailer-daemon@mx.example.net>\r\n"
         "To: sender@example.org\r\nSubject: Mail delivery failed\r\n\r\n" +
         body;
}

TEST(DsnFormats, RepeatedListingKeepsEachRecipientsOwnReason) {
  std::string block =
      "  full@example.jp\r\n"
      "    SMTP error from remote mail server after RCPT TO:<full@example.jp>:\r\n"
      "    host mx.example.jp [192.0.2.12]: 550 5.2.2 <full@example.jp>... Mailbox Full\r\n"
      "  gone@example.jp\r\n"
      "    SMTP error from remote mail server after RCPT TO:<gone@example.jp>:\r\n"
      "    host mx.example.jp [192.0.2.12]: 550 5.2.1 <gone@example.jp>... User Unknown\r\n\r\n";
  ParsedFeedback fb = parse_feedback(free_text_bounce(
      "This message was created automatically by mail delivery software.\r\n\r\n"
      "A message that you sent could not be delivered to one or more of its recipients. "
      "This is a permanent error. The following address(es) failed:\r\n\r\n" +
      block + "Again, for the record:\r\n\r\n" + block));
  ASSERT_EQ(fb.recipients.size(), 2u) << fb.reason;
  for (const auto& r : fb.recipients) {
    if (r.recipient == "gone@example.jp") {
      EXPECT_NE(r.diagnostic.find("User Unknown"), std::string::npos) << r.diagnostic;
      EXPECT_EQ(r.diagnostic.find("Mailbox Full"), std::string::npos) << r.diagnostic;
    } else {
      EXPECT_EQ(r.recipient, "full@example.jp");
      EXPECT_EQ(r.diagnostic.find("User Unknown"), std::string::npos) << r.diagnostic;
    }
  }
}

TEST(DsnFormats, ReasonWrittenBeforeOrAboveTheAddressIsRead) {
  ParsedFeedback same_line = parse_feedback(free_text_bounce(
      "Unknown user: gone@example.com\r\n\r\n\r\nOriginal message follows.\r\n\r\n"
      "From: sender@example.org\r\nTo: someone@example.com\r\nSubject: hi\r\n\r\nhi\r\n"));
  ASSERT_EQ(same_line.recipients.size(), 1u) << same_line.reason;
  EXPECT_EQ(same_line.recipients[0].recipient, "gone@example.com");
  EXPECT_NE(same_line.recipients[0].diagnostic.find("Unknown user"), std::string::npos)
      << same_line.recipients[0].diagnostic;
  ParsedFeedback above = parse_feedback(free_text_bounce(
      "------- Failure Reasons  --------\r\n\r\n"
      "User  not listed in public Name & Address Book\r\ngone@example.com\r\n\r\n\r\n"
      "------- Returned Message --------\r\n"
      "From: sender@example.org\r\nTo: someone@example.com\r\nSubject: hi\r\n\r\nhi\r\n"));
  ASSERT_EQ(above.recipients.size(), 1u) << above.reason;
  EXPECT_NE(above.recipients[0].diagnostic.find("not listed in public Name"), std::string::npos)
      << above.recipients[0].diagnostic;
}

TEST(DsnFormats, QuotedHeadersOfAForwardedBounceAreNotTheReason) {
  ParsedFeedback fb = parse_feedback(
      free_text_bounce("The following message to <gone@example.com> was undeliverable.\r\n"
                       "The reason for the problem:\r\n"
                       "550 5.1.1 <gone@example.com>... User unknown\r\n"
                       "> Reporting-MTA: dns; mx.example.jp\r\n"
                       "> Return-Path: <sender@example.org>\r\n"
                       "> Received: from mx.example.org by mx.example.jp\r\n"));
  ASSERT_EQ(fb.recipients.size(), 1u) << fb.reason;
  EXPECT_NE(fb.recipients[0].diagnostic.find("User unknown"), std::string::npos);
  EXPECT_EQ(fb.recipients[0].diagnostic.find("Return-Path"), std::string::npos)
      << fb.recipients[0].diagnostic;
}

}  // namespace
}  // namespace bouncegate
