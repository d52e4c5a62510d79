// bouncegate-test-upstream: the scripted upstream SMTP server as a standalone program, for
// the quickstart and manual tests. Not installed.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/support/scripted_upstream.hpp"

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace bouncegate::test;
  UpstreamScript script;
  int port = 2525;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s needs a value\n", a.c_str());
        exit(64);
      }
      return argv[++i];
    };
    if (a == "--port") {
      port = std::stoi(value());
    } else if (a == "--tls-cert") {
      script.tls_cert = value();
    } else if (a == "--tls-key") {
      script.tls_key = value();
    } else if (a == "--implicit-tls") {
      script.implicit_tls = true;
    } else if (a == "--auth-password-file") {
      std::ifstream in(value());
      std::getline(in, script.password);
      if (script.password.empty()) {
        fprintf(stderr, "empty password file\n");
        return 78;
      }
    } else if (a == "--capture-dir") {
      script.capture_dir = value();
    } else if (a == "--greeting") {
      script.greeting = value();
    } else {
      fprintf(stderr,
              "usage: bouncegate-test-upstream [--port N] [--tls-cert PEM --tls-key PEM "
              "[--implicit-tls]]\n  [--auth-password-file FILE] [--capture-dir DIR] "
              "[--greeting \"421 4.3.2 busy\"]\n"
              "recipients: bounce-* 550 5.1.1, multi-* multi-line 550, throttle-* 450 4.5.127,\n"
              "  defer-* 451 once, blocked-* 554 5.7.1 [CS01] at end of data, drop-* hang up in "
              "DATA\n");
      return 64;
    }
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  try {
    ScriptedUpstream server(script, port);
    fprintf(stderr, "bouncegate-test-upstream listening on 127.0.0.1:%d\n", server.port());
    while (!g_stop) pause();
    server.stop();
  } catch (const std::exception& e) {
    fprintf(stderr, "bouncegate-test-upstream: %s\n", e.what());
    return 69;
  }
  return 0;
}
