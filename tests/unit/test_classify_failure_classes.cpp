// One table per failure class of reply judgement: each row is a reply shape documented by a
// receiver, an MTA or an RFC (named beside it), with the verdict the shipped rules must give.
// A class either is the expected one, or (for "never hard" tables) anything but hard.
#include <gtest/gtest.h>

#include "core/classify.hpp"
#include "core/received_reply.hpp"

namespace bouncegate {
namespace {

struct Row {
  const char* reply;
  SmtpCommand command;
  const char* expect;  // a class name, or "!hard"
  const char* source;
};

void PrintTo(const Row& r, std::ostream* os) {
  *os << r.reply;
}

class FailureClass : public ::testing::TestWithParam<Row> {};

TEST_P(FailureClass, ShippedRulesDecideAsDocumented) {
  static const Classifier c(default_rule_specs());
  const Row& row = GetParam();
  Reply reply = parse_reply(row.reply);
  if (!reply.valid) reply = reply_from_status("", row.reply);  // a DSN's diagnostic text
  Classification got = c.classify(row.command, reply);
  std::string cls(to_string(got.cls));
  if (std::string(row.expect) == "!hard")
    EXPECT_NE(cls, "hard") << row.reply << " (rule " << got.rule_id << "; " << row.source << ")";
  else
    EXPECT_EQ(cls, row.expect) << row.reply << " (rule " << got.rule_id << "; " << row.source
                               << ")";
}

constexpr auto any = SmtpCommand::any;
constexpr auto rcpt = SmtpCommand::rcpt;
constexpr auto data_end = SmtpCommand::data_end;

// A bare basic code decides nothing by itself: RFC 5321 550/553/554/521 texts used for relay
// permission, block lists, policy, content and our own DNS.
const Row kBareBasicCodes[] = {
    {"550 Requested action not taken: mailbox unavailable", rcpt, "!hard", "RFC 5321 4.2.3"},
    {"553 Requested action not taken: mailbox name not allowed", rcpt, "!hard", "RFC 5321"},
    {"554 Transaction failed", rcpt, "!hard", "RFC 5321 4.2.3"},
    {"550 Rejected", rcpt, "!hard", "ACS table lists bare 550 as hard; RFC 5321 gives no cause"},
    {"553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", rcpt, "!hard",
     "qmail-smtpd relay refusal"},
    {"550 Mailbox unavailable or access denied", rcpt, "!hard", "generic policy text"},
    {"521 Service not available", SmtpCommand::connect, "!hard", "RFC 7504 without its text"},
    {"521 5.3.2 Service currently unavailable", SmtpCommand::connect, "!hard",
     "Postfix postscreen's drop of a blocked client: 521 with 5.3.2 alone is about us"},
    {"521 5.3.2 <user@example.com>: Recipient address rejected: System not accepting network "
     "messages",
     rcpt, "!hard", "RFC 3463 X.3.2 describes the system, not the address"},
    {"550 Administrative prohibition - envelope blocked", rcpt, "reputation",
     "Mimecast rejection codes"},
    {"554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using Spamhaus", rcpt,
     "reputation", "Postfix reject_rbl_client"},
};
INSTANTIATE_TEST_SUITE_P(BareBasicCodes, FailureClass, ::testing::ValuesIn(kBareBasicCodes));

// The subject of the sentence: dead-address words about our account, our list or our rate.
const Row kSubjectIsOurSide[] = {
    {"550 5.7.1 The sender's account has been disabled", any, "!hard", "sender account texts"},
    {"550 5.7.1 Sending account is suspended", any, "!hard", "sending-account suspensions"},
    {"554 5.7.1 Your account has been disabled for sending mail", any, "sender",
     "provider sending-account suspensions"},
    {"550 5.7.1 Your email account is inactive", any, "!hard", "our account, not the recipient"},
    {"550 5.7.1 Message rejected: your list contains too many unknown users", any, "!hard",
     "list-hygiene refusals"},
    {"421 4.7.0 Your IP has been temporarily blocked due to too many invalid recipients", any,
     "!hard", "rate and hygiene limits"},
    {"550 5.2.1 The user you are trying to contact is receiving mail at a rate that prevents "
     "additional messages from being delivered",
     rcpt, "rate_limit", "Gmail SMTP errors: 5.2.1 used for a rate limit"},
    {"550 5.1.8 Sender address rejected: Domain not found", rcpt, "sender",
     "Postfix reject_unknown_sender_domain"},
    {"550 5.7.1 Sender address rejected: Access denied", rcpt, "sender",
     "Postfix check_sender_access"},
    {"550 5.7.1 Mailbox of the sender is blocked", any, "!hard", "sender mailbox texts"},
};
INSTANTIATE_TEST_SUITE_P(SubjectIsOurSide, FailureClass, ::testing::ValuesIn(kSubjectIsOurSide));

// Phrases that also describe our side, hedges, and stages where no recipient was named.
const Row kNotProof[] = {
    {"550 Unknown host: rsend.example.org", rcpt, "!hard", "our return-path host's DNS"},
    {"550 5.7.1 Invalid domain name", rcpt, "!hard", "a domain, not said whose"},
    {"550 Invalid domain: the domain used in your From: is not accepted", rcpt, "!hard",
     "our From: domain"},
    {"550 5.7.1 Reply-To address is invalid", rcpt, "!hard", "a header of our message"},
    {"550 5.7.1 The domain you are sending from no longer exists", rcpt, "!hard",
     "our sending domain"},
    {"550 发信人帐号不存在", rcpt, "!hard", "the sender's account does not exist"},
    {"550 5.4.7 Session closed due to inactivity", any, "!hard", "our idle session"},
    {"554 5.7.1 Utilisateur inconnu ou mot de passe incorrect", any, "!hard", "a login error"},
    {"550 Benutzer unbekannt oder Passwort falsch", any, "!hard", "a login error"},
    {"550 5.7.13 User account disabled", data_end, "!hard",
     "RFC 5248 X.7.13: an AUTH to a disabled account"},
    {"501 5.1.3 Invalid address", SmtpCommand::mail, "!hard", "our MAIL FROM argument"},
    {"550 5.1.1 User unknown", SmtpCommand::mail, "!hard",
     "a reply to MAIL FROM names no recipient"},
    {"Recipient's Inbox does not exist or is busy", any, "!hard",
     "Microsoft Mail: a locked or corrupted mailbag"},
    {"The mail server could not deliver mail to user@example.net. The account or domain may not "
     "exist, they may be blacklisted, or missing the proper dns entries.",
     any, "!hard", "a hedge"},
};
INSTANTIATE_TEST_SUITE_P(NotProof, FailureClass, ::testing::ValuesIn(kNotProof));

// Routing, relay and loop codes describe the path, not the address (ACS lists 5.4.x hard).
const Row kRoutingNotAddress[] = {
    {"550 5.4.1 Relay Access Denied", rcpt, "!hard", "Exchange 5.4.1 relay access"},
    {"554 5.4.14 Hop count exceeded - possible mail loop", any, "!hard", "Exchange 5.4.14"},
    {"550 5.4.6 Routing loop detected", any, "!hard", "RFC 3463 X.4.6"},
    {"554 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain", any, "!hard",
     "Exchange SMTPSEND diagnostics are the sender's routing"},
    {"550 5.4.0 Recipient domain filter: not accepted here", rcpt, "!hard",
     "recipient-domain filters"},
    {"554 5.4.7 Delivery expired (message too old)", any, "!hard", "RFC 3463 X.4.7"},
};
INSTANTIATE_TEST_SUITE_P(RoutingNotAddress, FailureClass, ::testing::ValuesIn(kRoutingNotAddress));

// The stage: at end of data the recipient was accepted at RCPT; only a 5.1.x code names it.
const Row kStage[] = {
    {"550 Message rejected", data_end, "!hard", "RFC 5321: DATA-end replies cover the message"},
    {"554 5.7.1 Message refused: user unknown words in a content verdict", data_end, "!hard",
     "content filters at end of data"},
    {"550 5.1.1 <user@example.com>... User unknown", data_end, "hard",
     "servers that check recipients after DATA (RFC 3463 5.1.1)"},
    {"552 5.3.4 Message size exceeds fixed maximum message size", data_end, "content",
     "RFC 3463 X.3.4"},
};
INSTANTIATE_TEST_SUITE_P(Stage, FailureClass, ::testing::ValuesIn(kStage));

// Identifiers are not evidence: vendor names in URLs or hosts, content words in local parts.
const Row kIdentifiersAreNotEvidence[] = {
    {"550 5.1.1 <spam.trap@example.com>: Recipient address rejected: User unknown", rcpt, "hard",
     "a content word inside the local part"},
    {"550 5.1.1 User unknown; see https://www.spamhaus.org/faq for help", rcpt, "hard",
     "a block-list name inside a URL"},
    {"550 5.1.1 <virus-lab@example.com>: user unknown in virtual mailbox table", rcpt, "hard",
     "Postfix virtual(5) unknown user; local part holds a content word"},
    {"550 5.1.1 No such user at barracuda-gw.example.net", rcpt, "hard",
     "a gateway vendor's name inside a host name"},
};
INSTANTIATE_TEST_SUITE_P(IdentifiersAreNotEvidence, FailureClass,
                         ::testing::ValuesIn(kIdentifiersAreNotEvidence));

// Dead addresses and domains written in provider-specific or old-MTA ways are recognised.
const Row kDeadAddressShapes[] = {
    {"550 5.2.1 The email account that you tried to reach is disabled", rcpt, "hard",
     "Gmail SMTP errors 5.2.1"},
    {"554 30 Sorry, your message to user@example.com cannot be delivered. This mailbox is "
     "disabled (554.30)",
     rcpt, "hard", "AOL/Yahoo 554.30"},
    {"550 5.2.1 <user@example.com>: Recipient address rejected: this mailbox is inactive and "
     "has been disabled",
     rcpt, "hard", "mailboxes closed for inactivity"},
    {"550 Message was not accepted -- invalid mailbox. Local mailbox user@example.ru is "
     "unavailable: account is disabled",
     rcpt, "hard", "Mail.ru"},
    {"550 5.7.13 Disabled recipient address", rcpt, "hard", "RFC 5248 5.7.13"},
    {"550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550", rcpt, "hard",
     "Mimecast rejection codes"},
    {"550 5.1.1 Not our Customer", rcpt, "hard", "Comcast postmaster"},
    {"554 delivery error: dd This user doesn't have a yahoo.com account (user@yahoo.com) [0]", rcpt,
     "hard", "Yahoo sender hub"},
    {"550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", rcpt, "hard",
     "Exchange Online directory-based edge blocking"},
    {"550 Host unknown (Authoritative answer from name server)", any, "hard", "Sendmail EX_NOHOST"},
    {"Sorry, I couldn't find any host named example.com. (#5.1.2)", any, "hard",
     "qmail-remote permanent DNS failure"},
    {"501 5.1.3 <user..name@example.com>... Bad recipient address syntax", rcpt, "hard",
     "RFC 3463 5.1.3 at RCPT"},
    {"550 user has moved with no forwarding address", rcpt, "hard", "RFC 3463 X.1.6"},
};
INSTANTIATE_TEST_SUITE_P(DeadAddressShapes, FailureClass, ::testing::ValuesIn(kDeadAddressShapes));

}  // namespace
}  // namespace bouncegate
