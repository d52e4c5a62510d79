// Test harness implementation: fork/exec, pipes, free ports, private redis-server.
#include "tests/support/harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/support/loopback.hpp"

namespace bouncegate::test {

int free_port() {
  int port = 0;
  close(listen_loopback(0, 1, &port));
  return port;
}

bool wait_for_port(int port, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = connect_loopback(port, 1);
    if (fd >= 0) {
      close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/bouncegate-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::file(const std::string& name, const std::string& content) const {
  std::string p = path_ + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(p).parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

RedisServer::RedisServer() : RedisServer(std::vector<std::string>{}) {}

RedisServer::RedisServer(std::vector<std::string> extra, const std::string& sentinel_conf)
    : extra_(std::move(extra)), sentinel_conf_(sentinel_conf) {
  // The free port may be taken between the check and redis-server's bind: try another.
  for (int attempt = 1;; ++attempt) {
    port_ = free_port();
    try {
      start();
      return;
    } catch (const std::runtime_error&) {
      stop();
      if (attempt == 3) throw;
    }
  }
}

void RedisServer::start() {
  std::vector<std::string> argv = {"redis-server"};
  if (!sentinel_conf_.empty()) {
    // A sentinel rewrites its configuration file, so it gets its own copy.
    argv.push_back(dir_.file(
        "sentinel.conf", "port " + std::to_string(port_) + "\nbind 127.0.0.1\n" + sentinel_conf_));
    argv.push_back("--sentinel");
  } else {
    argv.insert(argv.end(), {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", dir_.path(), "--daemonize", "no"});
  }
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  pid_ = pid;
  // Up within 5 s, or gone (e.g. the port was taken): then fail at once.
  for (int i = 0; i < 50; ++i) {
    if (wait_for_port(port_, 100)) return;
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
  }
  throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
}

void RedisServer::stop() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

void RedisServer::pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void RedisServer::resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

RedisServer::~RedisServer() {
  resume();
  stop();
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"redis-cli", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv).out;
}

RunResult run(const std::vector<std::string>& argv, const std::string& input,
              const std::map<std::string, std::string>& env) {
  int in[2], out[2], err[2];
  // Close-on-exec: a child forked by another thread must not hold these pipes open.
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(in[1]);
    close(out[0]);
    close(err[0]);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  RunResult r;
  size_t written = 0;
  if (input.empty()) close(in[1]);
  bool in_open = !input.empty();
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    pollfd p[3];
    int n = 0;
    if (out_open) p[n++] = {out[0], POLLIN, 0};
    if (err_open) p[n++] = {err[0], POLLIN, 0};
    if (in_open) p[n++] = {in[1], POLLOUT, 0};
    poll(p, n, 1000);
    for (int i = 0; i < n; ++i) {
      if (!p[i].revents) continue;
      if (p[i].fd == in[1]) {
        ssize_t w = write(in[1], input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 || written == input.size()) {
          close(in[1]);
          in_open = false;
        }
        continue;
      }
      char buf[65536];
      ssize_t got = read(p[i].fd, buf, sizeof buf);
      if (got <= 0) {
        close(p[i].fd);
        (p[i].fd == out[0] ? out_open : err_open) = false;
      } else {
        (p[i].fd == out[0] ? r.out : r.err).append(buf, static_cast<size_t>(got));
      }
    }
  }
  if (in_open) close(in[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string bin(const std::string& name) {
  return std::string(BOUNCEGATE_BIN_DIR) + "/" + name;
}
std::string source_path(const std::string& rel) {
  return std::string(BOUNCEGATE_SOURCE_DIR) + "/" + rel;
}

std::string config_yaml(int redis_port, const std::string& ladder, const std::string& extra) {
  return "redis: {address: 127.0.0.1:" + std::to_string(redis_port) +
         ", timeout: 300ms, connect_timeout: 300ms, reconnect_backoff: 100ms}\n"
         "suppression:\n  lease_ladder: " +
         ladder + "\n  journal_path: ''\n" + extra;
}

}  // namespace bouncegate::test
