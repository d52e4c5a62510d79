// Builds the test delivery reports of dsn_samples.hpp.
#include "tests/support/dsn_samples.hpp"

namespace bouncegate::test {

std::string sample_dsn(const std::vector<SampleRecipient>& recipients, const std::string& to,
                       const std::string& original_message_id) {
  std::string m =
      "Return-Path: <>\r\n"
      "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
      "To: " +
      to +
      "\r\n"
      "Subject: Undelivered Mail Returned to Sender\r\n"
      "Message-ID: <dsn-1@mx.example.net>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/report; report-type=delivery-status;\r\n"
      "\tboundary=\"BOUNDARY\"\r\n\r\n"
      "--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
      "--BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\n"
      "Reporting-MTA: dns; mx.example.net\r\n\r\n";
  for (const auto& r : recipients) {
    std::string diag = r.diagnostic.empty() ? "550 5.1.1 <" + r.address +
                                                  ">: Recipient address rejected: User unknown"
                                            : r.diagnostic;
    m += "Final-Recipient: rfc822; " + r.address + "\r\nAction: " + r.action +
         "\r\nStatus: " + r.status + "\r\nRemote-MTA: dns; mx.dest.example\r\n" +
         "Diagnostic-Code: smtp; " + diag + "\r\n\r\n";
  }
  m += "--BOUNDARY\r\nContent-Type: text/rfc822-headers\r\n\r\n"
       "From: app@example.com\r\nMessage-ID: <" +
       original_message_id + ">\r\nSubject: hi\r\n--BOUNDARY--\r\n";
  return m;
}

}  // namespace bouncegate::test
