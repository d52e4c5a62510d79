// Test harness: real processes for tests - a private redis-server on a free loopback port,
// temporary directories, and running built binaries with captured output.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace bouncegate::test {

// A free TCP port on 127.0.0.1 (bound and released; racy only against other processes).
int free_port();

// A fresh directory under /tmp removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// A real redis-server, private to the test, stopped on destruction.
class RedisServer {
 public:
  RedisServer();
  // extra: more redis-server arguments (e.g. {"--replicaof", "127.0.0.1", "6379"}); with
  // sentinel_conf non-empty it runs as a sentinel with that configuration text.
  explicit RedisServer(std::vector<std::string> extra, const std::string& sentinel_conf = "");
  ~RedisServer();
  int port() const { return port_; }
  void stop();    // SIGKILL, like a crash
  void start();   // again on the same port
  void pause();   // SIGSTOP: accepts connections in the kernel, answers nothing
  void resume();  // SIGCONT
  bool running() const { return pid_ > 0; }
  // Runs redis-cli against it; returns stdout.
  std::string cli(const std::vector<std::string>& args) const;

 private:
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::vector<std::string> extra_;
  std::string sentinel_conf_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv (argv[0] looked up in PATH if not absolute) with `input` on stdin.
RunResult run(const std::vector<std::string>& argv, const std::string& input = "",
              const std::map<std::string, std::string>& env = {});

std::string bin(const std::string& name);  // BOUNCEGATE_BIN_DIR/name
std::string source_path(const std::string& rel);

// A config YAML text for a Redis on `port` with a ladder; `extra` appended verbatim.
std::string config_yaml(int redis_port, const std::string& ladder = "[24h, 48h, 96h, 7d, 14d]",
                        const std::string& extra = "");

bool wait_for_port(int port, int timeout_ms);

}  // namespace bouncegate::test
