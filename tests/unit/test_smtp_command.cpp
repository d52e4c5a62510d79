// The relay's pure protocol parts fed byte by byte: command lines, the message stream after
// DATA, the session's sequence and limit checks, relay.allow matching, and upstream replies.
#include <gtest/gtest.h>

#include "core/access.hpp"
#include "core/received_reply.hpp"
#include "relay/capabilities.hpp"
#include "relay/message_stream.hpp"
#include "relay/session_state.hpp"
#include "relay/smtp_command.hpp"

namespace bouncegate {
namespace {

// Feeds one byte at a time; returns every complete line and whether each was too long.
std::vector<std::pair<std::string, bool>> lines_bytewise(const std::string& bytes) {
  CommandLineReader r;
  std::vector<std::pair<std::string, bool>> out;
  for (char c : bytes) {
    EXPECT_EQ(r.feed(std::string_view(&c, 1)), 1u);
    if (r.ready()) {
      bool tl = r.too_long();
      out.emplace_back(r.take(), tl);
    }
  }
  return out;
}

TEST(SmtpCommand, PipelinedLinesSplitByteByByte) {
  auto lines = lines_bytewise("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].first, "MAIL FROM:<a@b.c>");
  EXPECT_EQ(lines[2].first, "DATA");
}

TEST(SmtpCommand, ReaderStopsAfterOneLine) {
  CommandLineReader r;
  std::string bytes = "NOOP\r\nDATA\r\n";
  EXPECT_EQ(r.feed(bytes), 6u);
  EXPECT_EQ(r.take(), "NOOP");
}

TEST(SmtpCommand, LineLimitIs512OctetsWithCrlf) {
  std::string ok = "NOOP " + std::string(510 - 5, 'x');
  std::string over = ok + "y";
  auto lines = lines_bytewise(ok + "\r\n" + over + "\r\nQUIT\r\n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_FALSE(lines[0].second);
  EXPECT_EQ(lines[0].first.size(), 510u);
  EXPECT_TRUE(lines[1].second);
  EXPECT_LE(lines[1].first.size(), kMaxCommandLine);  // the excess is dropped, memory stays bounded
  EXPECT_FALSE(lines[2].second);
  EXPECT_EQ(lines[2].first, "QUIT");
}

TEST(SmtpCommand, MailWithEsmtpParameters) {
  auto c = parse_command_line(
      "mail from:<App@Example.com> SIZE=1234 BODY=8BITMIME SMTPUTF8 "
      "RET=HDRS ENVID=QQ314159");
  EXPECT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.verb, Verb::mail);
  EXPECT_EQ(c.path, "App@Example.com");
  EXPECT_EQ(c.declared_size(), 1234u);
  EXPECT_EQ(c.param("BODY"), "8BITMIME");
  EXPECT_TRUE(c.has("SMTPUTF8"));
  EXPECT_EQ(c.param("SMTPUTF8"), "");
  EXPECT_EQ(c.param("RET"), "HDRS");
  EXPECT_EQ(c.param("ENVID"), "QQ314159");
}

TEST(SmtpCommand, RcptWithDsnParameters) {
  auto c = parse_command_line("RCPT TO:<x@y.z> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y.z");
  EXPECT_TRUE(c.error.empty());
  EXPECT_EQ(c.param("NOTIFY"), "SUCCESS,FAILURE");
  EXPECT_EQ(c.param("ORCPT"), "rfc822;x@y.z");
}

TEST(SmtpCommand, NullSenderAndSourceRoute) {
  EXPECT_EQ(parse_command_line("MAIL FROM:<>").path, "");
  EXPECT_TRUE(parse_command_line("MAIL FROM:<>").error.empty());
  EXPECT_EQ(parse_command_line("RCPT TO:<@relay.example:u@d.example>").path, "u@d.example");
}

TEST(SmtpCommand, QuotedLocalPartMayHoldBracket) {
  auto c = parse_command_line("RCPT TO:<\"a>b\"@d.example>");
  EXPECT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.path, "\"a>b\"@d.example");
}

TEST(SmtpCommand, SyntaxErrorsAreExplained) {
  EXPECT_FALSE(parse_command_line("MAIL FROM:a@b.c").error.empty());
  EXPECT_FALSE(parse_command_line("RCPT TO:<>").error.empty());
  EXPECT_FALSE(parse_command_line("RCPT TO:<a@b.c").error.empty());
  EXPECT_FALSE(parse_command_line("EHLO").error.empty());
  EXPECT_FALSE(parse_command_line("DATA now").error.empty());
  EXPECT_FALSE(parse_command_line(std::string("NOOP\0x", 6)).error.empty());
  EXPECT_EQ(parse_command_line("FROB").verb, Verb::unknown);
  EXPECT_FALSE(parse_command_line("MAIL FROM:<a@b.c> SIZE=12 =x").error.empty());
}

TEST(SmtpCommand, XforwardAttributes) {
  auto c = parse_command_line("XFORWARD NAME=localhost ADDR=127.0.0.1 IDENT=4QAbc1XyZ");
  EXPECT_EQ(c.verb, Verb::xforward);
  EXPECT_EQ(c.param("IDENT"), "4QAbc1XyZ");
}

std::string feed_bytewise(MessageStream& m, const std::string& bytes, size_t* used) {
  std::string forwarded;
  *used = 0;
  for (char c : bytes) {
    if (m.done()) break;
    *used += m.feed(std::string_view(&c, 1), forwarded);
  }
  return forwarded;
}

std::string feed_whole(MessageStream& m, const std::string& bytes) {
  std::string forwarded;
  m.feed(bytes, forwarded);
  return forwarded;
}

TEST(MessageStream, EndsAtDotLineAndKeepsStuffing) {
  MessageStream m(1 << 20);
  std::string msg =
      "Message-ID:\r\n <abc@example.com>\r\nSubject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n";
  size_t used = 0;
  std::string fwd = feed_bytewise(m, msg, &used);
  EXPECT_TRUE(m.done());
  EXPECT_FALSE(m.failed());
  EXPECT_EQ(fwd, msg.substr(0, msg.find("QUIT")));  // stuffed dot passes through unchanged
  EXPECT_EQ(m.message_id(), "abc@example.com");     // folded header unfolded
}

TEST(MessageStream, DotInsideLineDoesNotEnd) {
  MessageStream m(1 << 20);
  size_t used = 0;
  feed_bytewise(m, "a.\r\n.b\r\n", &used);
  EXPECT_FALSE(m.done());
  feed_bytewise(m, ".\r\n", &used);
  EXPECT_TRUE(m.done());
}

TEST(MessageStream, TextLineLimitAndSize) {
  MessageStream longline(1 << 20);
  size_t used = 0;
  feed_bytewise(longline, std::string(999, 'x') + "\r\n.\r\n", &used);
  EXPECT_TRUE(longline.done());
  EXPECT_TRUE(longline.line_too_long());
  MessageStream fits(1 << 20);
  feed_bytewise(fits, std::string(998, 'x') + "\r\n.\r\n", &used);
  EXPECT_FALSE(fits.failed());
  MessageStream big(100);
  feed_bytewise(big, std::string(60, 'x') + "\r\n" + std::string(60, 'y') + "\r\n.\r\n", &used);
  EXPECT_TRUE(big.too_big());
  EXPECT_TRUE(big.done());
}

// Neither limit waits for the line's LF: a line that never ends is caught as it streams.
TEST(MessageStream, LimitsHoldBeforeTheLineEnds) {
  size_t used = 0;
  MessageStream longline(1 << 20);
  feed_bytewise(longline, std::string(1001, 'x'), &used);
  EXPECT_FALSE(longline.done());
  EXPECT_TRUE(longline.line_too_long());
  MessageStream big(100);
  feed_bytewise(big, std::string(101, 'x'), &used);
  EXPECT_TRUE(big.too_big());
  EXPECT_FALSE(big.line_too_long());
  // The end-of-data line does not count: exactly max_size octets of text still fit.
  MessageStream exact(100);
  feed_bytewise(exact, std::string(98, 'x') + "\r\n.\r\n", &used);
  EXPECT_TRUE(exact.done());
  EXPECT_FALSE(exact.failed());
}

// RFC 5321 4.1.1.4: only CRLF "." CRLF ends the data; bare-LF variants are message text.
TEST(MessageStream, BareLfDotDoesNotEnd) {
  size_t used = 0;
  MessageStream lf(1 << 20);
  feed_bytewise(lf, "a\n.\nb\r\n", &used);
  EXPECT_FALSE(lf.done());
  MessageStream dot_lf(1 << 20);
  feed_bytewise(dot_lf, "a\r\n.\nb\r\n", &used);
  EXPECT_FALSE(dot_lf.done());
  MessageStream lf_dot(1 << 20);
  feed_bytewise(lf_dot, "a\n.\r\nb\r\n", &used);
  EXPECT_FALSE(lf_dot.done());
  feed_bytewise(lf_dot, ".\r\n", &used);
  EXPECT_TRUE(lf_dot.done());
  MessageStream empty(1 << 20);  // right after the 354
  feed_bytewise(empty, ".\r\n", &used);
  EXPECT_TRUE(empty.done());
}

TEST(MessageStream, MessageIdOnlyFromHeaders) {
  MessageStream m(1 << 20);
  size_t used = 0;
  feed_bytewise(m, "Subject: a\r\n\r\nMessage-ID: <body@x>\r\n.\r\n", &used);
  EXPECT_EQ(m.message_id(), "");
  MessageStream last(1 << 20);
  feed_bytewise(last, "Message-Id: <only@x>\r\n.\r\n", &used);
  EXPECT_EQ(last.message_id(), "only@x");
}

TEST(SessionState, SequenceAndLimits) {
  SessionState s(2, 1000);
  auto mail = parse_command_line("MAIL FROM:<a@b.c>");
  auto rcpt = parse_command_line("RCPT TO:<d@e.f>");
  auto data = parse_command_line("DATA");
  EXPECT_EQ(s.check(mail)->code, "503");
  s.greeted();
  EXPECT_FALSE(s.check(mail));
  EXPECT_EQ(s.check(parse_command_line("MAIL FROM:<a@b.c> SIZE=1001"))->line(),
            "552 5.3.4 message size exceeds fixed limit");
  EXPECT_EQ(s.check(rcpt)->code, "503");
  s.mail_started(mail);
  EXPECT_EQ(s.check(mail)->code, "503");
  EXPECT_EQ(s.check(data)->line(), "554 5.5.1 no valid recipients");
  s.rcpt_seen();
  s.rcpt_accepted("d@e.f");
  s.rcpt_seen();
  EXPECT_EQ(s.check(rcpt)->line(), "452 4.5.3 too many recipients for this message");
  EXPECT_FALSE(s.check(data));
  s.reset();
  EXPECT_FALSE(s.in_mail());
  EXPECT_EQ(s.check(data)->code, "503");
}

TEST(AccessList, CidrMatching) {
  AccessList a({"127.0.0.0/8", "::1/128", "192.0.2.7", "2001:db8::/32"});
  EXPECT_TRUE(a.allows("127.0.0.1"));
  EXPECT_TRUE(a.allows("127.255.1.2"));
  EXPECT_TRUE(a.allows("::ffff:127.0.0.1"));
  EXPECT_TRUE(a.allows("::1"));
  EXPECT_TRUE(a.allows("192.0.2.7"));
  EXPECT_FALSE(a.allows("192.0.2.8"));
  EXPECT_TRUE(a.allows("2001:db8:1::5"));
  EXPECT_FALSE(a.allows("10.0.0.1"));
  EXPECT_FALSE(a.allows("garbage"));
  EXPECT_THROW(AccessList({"10.0.0.0/33"}), std::invalid_argument);
  EXPECT_THROW(AccessList({"not-an-ip"}), std::invalid_argument);
}

TEST(ReplyReaderBytewise, MultiLineUpstreamReply) {
  std::string bytes =
      "550-5.1.1 The email account does not exist.\r\n550 5.1.1 Try again.\r\n250 ok\r\n";
  ReplyReader r;
  std::vector<Reply> got;
  for (char c : bytes) {
    r.feed(std::string_view(&c, 1));
    if (r.ready()) got.push_back(r.take());
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].code, 550);
  EXPECT_EQ(got[0].lines.size(), 2u);
  EXPECT_EQ(got[0].raw(), "550-5.1.1 The email account does not exist.\r\n550 5.1.1 Try again.");
  EXPECT_EQ(got[1].code, 250);
}

// SMTP smuggling: every bare-CR/LF variant of an end-of-data line, followed by a second
// transaction. Whatever the client sends, the upstream sees no end of data before the real one.
const char* const kSmuggledEnds[] = {"\n.\n",   "\n.\r\n", "\r\n.\n", "\r.\r",
                                     "\r\n.\r", "\r.\r\n", "\n.\r"};

TEST(MessageStream, BareNewlineRejectStopsForwardingAtTheFirstBareByte) {
  for (const char* end : kSmuggledEnds) {
    MessageStream m(1 << 20, BareNewline::reject);
    std::string body = std::string("Subject: x\r\n\r\nhello") + end +
                       "MAIL FROM:<a@b.example>\r\nRCPT TO:<victim@c.example>\r\nDATA\r\n"
                       "smuggled\r\n.\r\n";
    size_t used = 0;
    std::string fwd = feed_bytewise(m, body, &used);
    SCOPED_TRACE(::testing::PrintToString(std::string(end)));
    EXPECT_TRUE(m.bare_newline());
    EXPECT_TRUE(m.failed());
    EXPECT_TRUE(m.done());         // the real end is still found, so the session goes on
    EXPECT_EQ(used, body.size());  // ...and nothing of the message is left as commands
    EXPECT_EQ(fwd.find("MAIL"), std::string::npos);
    // What went upstream is a prefix of the message that stops at "hello" and at most one
    // CRLF after it: nothing from the first bare CR or LF on.
    EXPECT_EQ(body.compare(0, fwd.size(), fwd), 0);
    EXPECT_LE(fwd.size(), body.find("hello") + 5 + 2);
    EXPECT_EQ(fwd.find("\r\n.\r\n"), std::string::npos);
    MessageStream by_default(1 << 20);  // reject is the default
    EXPECT_EQ(feed_whole(by_default, body).find("victim"), std::string::npos);
  }
}

TEST(MessageStream, BareNewlineNormalizeForwardsOnlyCrlfAndNoEarlyEnd) {
  for (const char* end : kSmuggledEnds) {
    SCOPED_TRACE(::testing::PrintToString(std::string(end)));
    std::string body =
        std::string("Subject: x\r\n\r\nhello") + end + "MAIL FROM:<a@b.example>\r\n.\r\n";
    MessageStream m(1 << 20, BareNewline::normalize);
    size_t used = 0;
    std::string fwd = feed_bytewise(m, body, &used);
    EXPECT_TRUE(m.done());
    EXPECT_FALSE(m.failed());
    // Every LF is preceded by CR, every CR followed by LF, and the only "CRLF . CRLF" in
    // what goes upstream is the final one.
    for (size_t i = 0; i < fwd.size(); ++i) {
      if (fwd[i] == '\n') {
        EXPECT_TRUE(i > 0 && fwd[i - 1] == '\r') << i;
      }
      if (fwd[i] == '\r') {
        EXPECT_TRUE(i + 1 < fwd.size() && fwd[i + 1] == '\n') << i;
      }
    }
    EXPECT_EQ(fwd.find("\r\n.\r\n"), fwd.size() - 5) << fwd;
    EXPECT_NE(fwd.find("MAIL FROM"), std::string::npos);  // kept as message text
    // Whole and byte by byte agree.
    MessageStream whole(1 << 20, BareNewline::normalize);
    EXPECT_EQ(feed_whole(whole, body), fwd);
  }
}

TEST(MessageStream, CrlfMessagesPassUnchangedInBothModes) {
  std::string msg = "Subject: x\r\n\r\n..dot\r\nline\r\n\r\n.\r\n";
  for (auto mode : {BareNewline::reject, BareNewline::normalize}) {
    MessageStream m(1 << 20, mode);
    EXPECT_EQ(feed_whole(m, msg), msg);
    EXPECT_TRUE(m.done());
    EXPECT_FALSE(m.failed());
  }
}

TEST(CommandLineReader, BareLfIsReported) {
  CommandLineReader r;
  r.feed("NOOP\n");
  EXPECT_TRUE(r.ready());
  EXPECT_TRUE(r.bare_lf());
  EXPECT_EQ(r.take(), "NOOP");
  r.feed("NOOP\r\n");
  EXPECT_FALSE(r.bare_lf());
}

TEST(SmtpCommand, ControlCharactersAndParameterGrammar) {
  EXPECT_TRUE(parse_command_line("XFORWARD IDENT=abc\rdef").control_character);
  EXPECT_TRUE(parse_command_line("MAIL FROM:<a@b.example> ENVID=x\x1b[31m").control_character);
  EXPECT_FALSE(parse_command_line("MAIL FROM:<a@b.example>\tSIZE=10").control_character);
  struct Row {
    const char* line;
    bool ok;
  } rows[] = {
      {"MAIL FROM:<a@b.example> ENVID=abc+2Bdef", true},
      {"MAIL FROM:<a@b.example> ENVID=a=b", false},
      {"MAIL FROM:<a@b.example> ENVID=a+2", false},
      {"MAIL FROM:<a@b.example> ENVID=a+zz", false},
      {"MAIL FROM:<a@b.example> RET=HDRS", true},
      {"MAIL FROM:<a@b.example> RET=ALL", false},
      {"MAIL FROM:<a@b.example> BODY=8BITMIME SMTPUTF8", true},
      {"MAIL FROM:<a@b.example> BODY=9BIT", false},
      {"MAIL FROM:<a@b.example> SIZE=12x", false},
      {"MAIL FROM:<a@b.example> SMTPUTF8=yes", false},
      {"RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE", true},
      {"RCPT TO:<a@b.example> NOTIFY=NEVER", true},
      {"RCPT TO:<a@b.example> NOTIFY=SUCCESS,", false},
      {"RCPT TO:<a@b.example> NOTIFY=ALWAYS", false},
      {"RCPT TO:<a@b.example> ORCPT=rfc822;a@b.example", true},
      {"RCPT TO:<a@b.example> ORCPT=a@b.example", false},
  };
  for (const auto& r : rows) EXPECT_EQ(parse_command_line(r.line).error.empty(), r.ok) << r.line;
}

}  // namespace
}  // namespace bouncegate

namespace bouncegate {
namespace {

// The upstream's EHLO capabilities, read directly (relay/capabilities).
TEST(UpstreamCapabilities, KeywordsAndSizeLimit) {
  Reply r = parse_reply(
      "250-smtp.example Hello\r\n250-PIPELINING\r\n250-size 41943040\r\n250-8BITMIME\r\n"
      "250-AUTH LOGIN XOAUTH2\r\n250 STARTTLS\r\n");
  ASSERT_TRUE(r.valid);
  auto c = capabilities_from_ehlo(r);
  EXPECT_TRUE(c.known && c.pipelining && c.eightbitmime && c.size);
  EXPECT_FALSE(c.smtputf8 || c.dsn);
  EXPECT_EQ(c.size_limit, 41943040u);
  EXPECT_EQ(ehlo_line(r, "AUTH"), "AUTH LOGIN XOAUTH2");
  EXPECT_EQ(ehlo_line(r, "AUTHX"), "") << "a keyword is matched whole";
  // The greeting line is not a keyword line.
  EXPECT_EQ(ehlo_line(parse_reply("250 PIPELINING\r\n"), "PIPELINING"), "");
  auto bare = capabilities_from_ehlo(parse_reply("250-x\r\n250 SIZE\r\n"));
  EXPECT_TRUE(bare.size);
  EXPECT_EQ(bare.size_limit, 0u) << "SIZE without a number states no limit";
}

}  // namespace
}  // namespace bouncegate

namespace bouncegate {
namespace {

// The memchr runs in MessageStream::feed are an optimisation only: the same bytes give the
// same upstream text, the same verdicts and the same Message-ID however they are cut, down to
// one octet per call (where no run is longer than one octet). Random messages built from the
// octets that matter (CR, LF, '.', text) and long lines, against small and large size limits;
// half of them mostly whole body lines (the runs MessageStream takes without looking at each).
TEST(MessageStreamRuns, AnyCutGivesTheSameResult) {
  size_t verbatim_octets = 0;  // how much the relay's DATA loop would send without a copy
  uint32_t seed = 12345;
  auto rnd = [&seed](uint32_t n) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % n;
  };
  for (int round = 0; round < 400; ++round) {
    std::string msg = "Message-ID: <m" + std::to_string(round) + "@x>\r\n";
    // Half the rounds are mostly body: the whole-line runs after the header section.
    const bool body = round % 2 == 1;
    // A quarter are clean bodies (what most mail is): CRLF lines, some dot-stuffed, nothing
    // refused, so the verbatim runs carry most of them.
    const bool clean = round % 4 == 3;
    if (body) msg += "Subject: s\r\n\r\n";
    int parts = 1 + static_cast<int>(rnd(body ? 120 : 40));
    for (int i = 0; i < parts; ++i) {
      static const uint32_t kClean[] = {0, 8, 9, 10, 8};
      switch (clean ? kClean[rnd(5)] : rnd(body ? 11 : 8)) {
        case 0:
          msg += "\r\n";
          break;
        case 1:
          msg += "\r\n.";
          break;
        case 2:
          msg += "\n";
          break;
        case 3:
          msg += "\r";
          break;
        case 4:
          msg += std::string(rnd(1100), 'a');
          break;
        case 8:
        case 9:
          msg += std::string(rnd(120), static_cast<char>('b' + rnd(20))) + "\r\n";
          break;
        case 10:
          msg += ".." + std::string(rnd(3), 'd') + "\r\n";
          break;
        default:
          msg += std::string(1 + rnd(60), static_cast<char>('b' + rnd(20)));
          break;
      }
    }
    if (rnd(4) != 0) msg += "\r\n.\r\n";
    for (uint64_t limit : {uint64_t{300}, uint64_t{3000}, uint64_t{10'000'000}}) {
      for (BareNewline mode : {BareNewline::reject, BareNewline::normalize}) {
        MessageStream whole(limit, mode), bytewise(limit, mode), cut(limit, mode),
            direct(limit, mode);
        std::string a, b, c, d;
        size_t used_a = whole.feed(msg, a);
        size_t used_b = 0;
        for (size_t i = 0; i < msg.size() && !bytewise.done(); ++i)
          used_b += bytewise.feed(std::string_view(msg).substr(i, 1), b);
        size_t used_c = 0, at = 0;
        while (at < msg.size() && !cut.done()) {
          size_t len = 1 + rnd(200);
          used_c += cut.feed(std::string_view(msg).substr(at, len), c);
          at += len;
        }
        // As the relay's DATA loop reads (MessageStream::take): the head fed, the verbatim
        // run sent from the read buffer itself, the tail fed, written in that order.
        size_t used_d = 0;
        at = 0;
        while (at < msg.size() && !direct.done()) {
          std::string_view piece = std::string_view(msg).substr(at, 1 + rnd(3000));
          std::string head, tail;
          const MessageStream::Taken t = direct.take(piece, head, tail);
          verbatim_octets += t.verbatim;
          if (!direct.failed())
            d.append(head).append(piece.substr(t.head_used, t.verbatim)).append(tail);
          used_d += t.used;
          at += piece.size();
        }
        ASSERT_EQ(a, b) << "round " << round;
        ASSERT_EQ(a, c) << "round " << round;
        // A failed message: what went before the piece that failed it, never more.
        if (whole.failed())
          ASSERT_EQ(a.compare(0, d.size(), d), 0) << "round " << round;
        else
          ASSERT_EQ(a, d) << "round " << round;
        EXPECT_EQ(used_a, used_d);
        EXPECT_EQ(whole.done(), direct.done());
        EXPECT_EQ(whole.line_too_long(), direct.line_too_long());
        EXPECT_EQ(whole.too_big(), direct.too_big());
        EXPECT_EQ(whole.bare_newline(), direct.bare_newline());
        EXPECT_EQ(whole.size(), direct.size());
        EXPECT_EQ(whole.message_id(), direct.message_id());
        EXPECT_EQ(used_a, used_b);
        EXPECT_EQ(used_a, used_c);
        EXPECT_EQ(whole.done(), bytewise.done());
        EXPECT_EQ(whole.failed(), bytewise.failed());
        EXPECT_EQ(whole.line_too_long(), cut.line_too_long());
        EXPECT_EQ(whole.too_big(), cut.too_big());
        EXPECT_EQ(whole.bare_newline(), cut.bare_newline());
        EXPECT_EQ(whole.size(), bytewise.size());
        EXPECT_EQ(whole.message_id(), cut.message_id());
      }
    }
  }
  // The zero-copy path is exercised, not only the feed() path around it.
  EXPECT_GT(verbatim_octets, 50000u);
}

}  // namespace
}  // namespace bouncegate
