// Logging for journald: <N> priority prefix, queue id first, key=value quoting, JSON lines,
// and level filtering.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

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

}  // namespace
}  // namespace bouncegate
