// bouncegate-relay: the cut-through SMTP relay from Postfix to the upstream (ACS).
// Exit codes: 0 ok, 64 usage, 69 cannot listen, 78 bad configuration.
// clang-format off
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.

#include <utility>
// clang-format on

#include <systemd/sd-daemon.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/config.hpp"
#include "core/daemon_entry.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "relay/server.hpp"

namespace {

// The drain bound: sessions get this long to finish after SIGTERM, then 421.
constexpr bouncegate::Millis kDrainBound{std::chrono::seconds(10)};

}  // namespace

int main(int argc, char** argv) {
  using namespace bouncegate;
  DaemonSpec spec;
  spec.name = "bouncegate-relay";
  spec.summary =
      "bouncegate-relay: the SMTP hop from Postfix to the upstream that learns from "
      "every reply";
  spec.check_help = "validate the configuration and exit";
  spec.exit_codes = "0 ok, 64 usage, 69 cannot listen, 78 bad configuration";
  spec.extra_check = [](const Config& c) { validate_relay_config(c); };
  spec.describe = [](const Config& c) {
    return "relay " + (c.relay.listen.empty() ? std::string("-") : c.relay.listen.front()) +
           ", upstream " + c.relay.upstream.host + ":" + std::to_string(c.relay.upstream.port);
  };
  DaemonStart start = daemon_front_door(spec, argc, argv);
  if (start.exit) return *start.exit;
  const std::string& path = start.config_path;
  std::shared_ptr<const Config> cfg = start.config;
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
