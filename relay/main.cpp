// bouncegate-relay: the cut-through SMTP relay from Postfix to the upstream (ACS).
// Exit codes: 0 ok, 64 usage, 69 cannot listen, 78 bad configuration.
// clang-format off
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <sys/resource.h>

#include <utility>
// clang-format on

#include <systemd/sd-daemon.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/config.hpp"
#include "core/descriptor_budget.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "relay/server.hpp"

namespace {

int usage() {
  fputs(
      "usage: bouncegate-relay [--config FILE] [--check-config] [--foreground]\n"
      "  --config FILE    configuration (default /etc/bouncegate/bouncegate.yaml)\n"
      "  --check-config   validate the configuration and exit (0 ok, 78 bad)\n"
      "  --foreground     accepted for symmetry: the relay always runs in the foreground\n",
      stderr);
  return 64;
}

// The drain bound: sessions get this long to finish after SIGTERM, then 421.
constexpr bouncegate::Millis kDrainBound{std::chrono::seconds(10)};

}  // namespace

int main(int argc, char** argv) {
  using namespace bouncegate;
  std::string path = kDefaultConfigPath;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc)
      path = argv[++i];
    else if (a.rfind("--config=", 0) == 0)
      path = a.substr(9);
    else if (a == "--check-config")
      check = true;
    else if (a == "--foreground")
      continue;
    else
      return usage();
  }
  std::shared_ptr<const Config> cfg;
  try {
    cfg = load_config(path);
    validate_relay_config(*cfg);
  } catch (const std::exception& e) {
    fprintf(stderr, "bouncegate-relay: %s\n", e.what());
    return 78;
  }
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  auto fd_warning = descriptor_limit_warning(*cfg, nofile.rlim_cur);
  if (check) {
    if (fd_warning) fprintf(stderr, "bouncegate-relay: warning: %s\n", fd_warning->c_str());
    printf("%s: configuration ok\n", path.c_str());
    return 0;
  }
  log_configure(cfg->logging.json, cfg->logging.level, "bouncegate-relay");
  if (fd_warning) log_event(LogLevel::warning, "", *fd_warning);
  boost::asio::io_context io(1);
  std::unique_ptr<RelayServer> server;
  std::unique_ptr<MetricsServer> metrics;
  try {
    metrics = start_metrics_endpoint(cfg->metrics.relay_listen, cfg->metrics.top_domains);
    server = std::make_unique<RelayServer>(io, cfg, path);
    server->start();
  } catch (const ConfigError& e) {
    log_event(LogLevel::error, "", "bad configuration", {{"error", e.what()}});
    return 78;
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "", "cannot start", {{"error", e.what()}});
    return 69;
  }
  boost::asio::signal_set stop(io, SIGTERM, SIGINT);
  boost::asio::signal_set hup(io, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      sd_notify(0, "RELOADING=1");
      server->reload();
      sd_notify(0, "READY=1");
      wait_hup();
    });
  };
  wait_hup();
  // WATCHDOG=1 at half the interval systemd asked for, from the io thread: a stuck loop stops it.
  boost::asio::steady_timer watchdog(io);
  uint64_t wd_usec = 0;
  std::function<void()> pet = [&] {
    sd_notify(0, "WATCHDOG=1");
    watchdog.expires_after(std::chrono::microseconds(wd_usec / 2));
    watchdog.async_wait([&](boost::system::error_code ec) {
      if (!ec) pet();
    });
  };
  if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) pet();
  stop.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    sd_notify(0, "STOPPING=1");
    server->drain(kDrainBound);
    hup.cancel();
    watchdog.cancel();
  });
  sd_notify(0, "READY=1");
  log_event(LogLevel::notice, "", "started", {{"config", path}});
  io.run();
  log_event(LogLevel::notice, "", "stopped");
  return 0;
}
