// Logging for journald: <N> priority prefix, queue id first, key=value quoting, JSON lines,
// and level filtering.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "core/escape.hpp"
#include "core/log.hpp"

namespace bouncegate {
namespace {

// Captures what log_event writes to stderr.
std::string capture(bool json, const char* level, LogLevel lv, const char* id, const char* msg,
                    std::initializer_list<std::pair<std::string_view, std::string>> fields) {
  int pipefd[2];
  EXPECT_EQ(pipe(pipefd), 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(pipefd[1], 2);
  log_configure(json, level, "test");
  log_event(lv, id, msg, fields);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(pipefd[1]);
  char buf[4096];
  ssize_t n = read(pipefd[0], buf, sizeof buf);
  close(pipefd[0]);
  log_configure(false, "info", "test");
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

TEST(Log, KeyValueLineStartsWithPriorityAndQueueId) {
  std::string line = capture(false, "info", LogLevel::info, "4XkQ1", "rcpt decision",
                             {{"rcpt", "<a@b.example>"}, {"reply", "550 5.1.1 gone \"x\""}});
  EXPECT_EQ(line,
            "<6>4XkQ1: rcpt decision rcpt=<a@b.example> reply=\"550 5.1.1 gone \\\"x\\\"\"\n");
}

TEST(Log, JsonLinesEscapeEverything) {
  std::string line =
      capture(true, "info", LogLevel::warning, "R0001", "upstream failure", {{"error", "a\nb"}});
  EXPECT_EQ(line,
            "<4>{\"program\":\"test\",\"id\":\"R0001\",\"msg\":\"upstream failure\",\"error\":"
            "\"a\\u000ab\"}\n");
}

TEST(Log, LevelFiltersDebug) {
  EXPECT_EQ(capture(false, "info", LogLevel::debug, "", "noise", {}), "");
  EXPECT_EQ(capture(false, "debug", LogLevel::debug, "", "noise", {}), "<7>noise\n");
}

// A CR/LF or escape sequence from the network can neither forge a line nor reach a terminal.
TEST(Log, NetworkTextCannotForgeALineOrDriveATerminal) {
  std::string line =
      capture(false, "info", LogLevel::info, "4X\rforged", "to=<a@b.example>\n<3>forged: line",
              {{"reply",
                "550 gone\r\n<3>x: y \x1b[2J\xc2\x9b"
                "31m"}});
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  EXPECT_EQ(line.find("\xc2\x9b"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;  // one line, ended once
  EXPECT_NE(line.find("\\x0d"), std::string::npos) << line;
}

TEST(Escape, ControlsBackslashAndC1AreEscapedUtf8Kept) {
  EXPECT_EQ(escape_control("a\x01"
                           "b\x7f"),
            "a\\x01b\\x7f");
  EXPECT_EQ(escape_control("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escape_control("\xc2\x9b"
                           "1m"),
            "\\u009b1m");
  EXPECT_EQ(escape_control("caf\xc3\xa9"), "caf\xc3\xa9");  // ordinary UTF-8 stays
  EXPECT_EQ(escape_control("l1\nl2", true), "l1\nl2");
  EXPECT_EQ(escape_control("l1\nl2"), "l1\\x0al2");
  // Bytes that are no UTF-8: a lone CSI (0x9B), a stray continuation, a cut-short sequence.
  EXPECT_EQ(escape_control("a\x9b"
                           "31m"),
            "a\\x9b31m");
  EXPECT_EQ(escape_control("x\xc3"), "x\\xc3");
  EXPECT_EQ(escape_control("\xc0\xaf"), "\\xc0\\xaf");        // overlong '/'
  EXPECT_EQ(escape_control("\xe2\x82\xac"), "\xe2\x82\xac");  // the euro sign stays
  EXPECT_TRUE(has_control("a\x9b"));
  EXPECT_FALSE(has_control("plain text"));
  EXPECT_TRUE(has_control("x\ty"));
}

}  // namespace
}  // namespace bouncegate
