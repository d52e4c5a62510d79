// bouncegate-milter: process life cycle - options, config snapshot, libmilter socket, signals
// (SIGHUP reload, SIGTERM/SIGINT stop) in the main thread via sigwait, and sd_notify.
#include <libmilter/mfapi.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "core/daemon_entry.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "milter/filter.hpp"
#include "milter/policy_service.hpp"

namespace bouncegate::milter {
namespace {

constexpr int kExitConfig = 78;  // EX_CONFIG
constexpr int kExitSoftware = 70;
constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE

// libmilter writes a modification (add/change header, delete recipient) and the final reply
// as separate frames; with Nagle the final one waits for the MTA's delayed ACK (40 ms per
// message). libmilter offers no hook on its sockets, but on Linux an accepted socket inherits
// TCP_NODELAY from its listener, so it is set on every listening TCP socket of the process
// (the milter socket, and the metrics endpoint, where it does no harm).
void disable_nagle_on_listeners() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = std::atoi(e.path().filename().c_str());
    int listening = 0;
    socklen_t len = sizeof listening;
    sockaddr_storage addr{};
    socklen_t alen = sizeof addr;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0 ||
        (addr.ss_family != AF_INET && addr.ss_family != AF_INET6))
      continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

void configure_logging(const Config& c) {
  log_configure(c.logging.json, c.logging.level, "bouncegate-milter");
}

// libmilter notices smfi_stop() only when its listener's poll (5 s) returns; a connection to
// the listening socket just before makes it return at once. Best effort, inet sockets only: at
// worst the stop takes the 5 s.
void wake_listener(const std::string& socket_spec) {
  std::string spec = socket_spec;
  bool v6 = spec.rfind("inet6:", 0) == 0;
  if (!v6 && spec.rfind("inet:", 0) != 0) return;
  spec = spec.substr(v6 ? 6 : 5);
  auto at = spec.find('@');
  std::string port = spec.substr(0, at);
  std::string host = at == std::string::npos ? (v6 ? "::1" : "127.0.0.1") : spec.substr(at + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return;
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    (void)connect(fd, res->ai_addr, res->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(res);
}

// A bad file is refused and the running snapshot kept.
void reload(const std::string& path) {
  sd_notify(0, "RELOADING=1");
  try {
    auto rt = build_runtime(path);
    configure_logging(*rt->config);
    if (rt->config->milter.policy_listen != current_runtime()->config->milter.policy_listen)
      log_event(LogLevel::warning, "", "milter.policy_listen changes take effect on restart");
    install_runtime(rt);
    log_event(LogLevel::notice, "", "configuration reloaded", {{"file", path}});
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "", "configuration reload refused, keeping the running one",
              {{"error", e.what()}});
  }
  sd_notify(0, "READY=1");
}

int run(const std::string& config_path) {
  std::shared_ptr<const Runtime> rt;
  try {
    rt = build_runtime(config_path);
  } catch (const std::exception& e) {
    std::cerr << "bouncegate-milter: " << e.what() << "\n";
    return kExitConfig;
  }
  configure_logging(*rt->config);
  install_runtime(rt);
  const MilterConfig& mc = rt->config->milter;
  // Block the signals in every thread; the main thread takes them with sigwait. (Linux hands a
  // process-directed signal to the main thread first when it is waiting for it, ahead of
  // libmilter's own signal thread.)
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::unique_ptr<MetricsServer> metrics;
  try {
    metrics =
        start_metrics_endpoint(rt->config->metrics.milter_listen, rt->config->metrics.top_domains);
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "", "cannot start the metrics endpoint", {{"error", e.what()}});
    return kExitUnavailable;
  }

  smfiDesc desc = filter_description();
  if (smfi_register(desc) == MI_FAILURE ||
      smfi_setconn(const_cast<char*>(mc.socket.c_str())) == MI_FAILURE) {
    log_event(LogLevel::error, "", "cannot register the filter", {{"socket", mc.socket}});
    return kExitSoftware;
  }
  smfi_settimeout(static_cast<int>(mc.timeout.count() / 1000));
  smfi_setbacklog(mc.backlog);
  if (smfi_opensocket(1) == MI_FAILURE) {
    log_event(LogLevel::error, "", "cannot open the milter socket", {{"socket", mc.socket}});
    return kExitSoftware;
  }
  disable_nagle_on_listeners();
  std::unique_ptr<PolicyService> policy;
  if (!mc.policy_listen.empty()) {
    try {
      policy = std::make_unique<PolicyService>(mc.policy_listen, mc.policy_max_connections,
                                               mc.policy_idle);
    } catch (const std::exception& e) {
      log_event(LogLevel::error, "", "cannot start the policy service", {{"error", e.what()}});
      return kExitUnavailable;
    }
  }

  pthread_t main_thread = pthread_self();
  int milter_rc = 0;
  std::atomic<bool> milter_done{false};
  std::thread milter([&] {
    milter_rc = smfi_main();
    milter_done = true;
    pthread_kill(main_thread, SIGUSR1);  // wake the signal loop when libmilter stops by itself
  });
  log_event(
      LogLevel::notice, "", "started",
      {{"socket", mc.socket},
       {"policy", mc.policy_listen.empty() ? std::string("off") : mc.policy_listen},
       {"shadow", mc.shadow ? "yes" : "no"},
       {"gate", mc.gate ? "yes" : "no"},
       {"on_store_error", mc.on_store_error == StoreErrorMode::tempfail ? "tempfail" : "accept"}});
  // Ready once listening. An unreachable store does not hold the start back: recipients get
  // what on_store_error says until Redis answers, and systemd shows the degraded state.
  try {
    rt->store->ping();
    sd_notify(0, "READY=1\nSTATUS=serving");
  } catch (const std::exception& e) {
    log_event(LogLevel::warning, "", "suppression store unreachable at start, running degraded",
              {{"error", e.what()}});
    sd_notify(0, "READY=1\nSTATUS=degraded: suppression store unreachable");
  }

  // Reloads run on their own thread so this one is back in sigwait at once: libmilter's signal
  // thread also waits for SIGHUP (and stops the filter on it), so the main thread must never
  // be busy when the next one arrives.
  std::mutex reload_mu;
  std::condition_variable reload_cv;
  int reloads_pending = 0;
  bool reloader_quit = false;
  std::thread reloader([&] {
    std::unique_lock lock(reload_mu);
    for (;;) {
      reload_cv.wait(lock, [&] { return reloads_pending > 0 || reloader_quit; });
      if (reloader_quit) return;
      reloads_pending = 0;
      lock.unlock();
      reload(config_path);
      lock.lock();
    }
  });

  uint64_t watchdog_us = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0;
  for (;;) {
    int sig = -1;
    if (watchdog) {
      timespec ts{static_cast<time_t>(watchdog_us / 2'000'000),
                  static_cast<long>((watchdog_us / 2) % 1'000'000 * 1000)};
      sig = sigtimedwait(&set, nullptr, &ts);
      if (sig < 0) {
        sd_notify(0, "WATCHDOG=1");
        continue;
      }
    } else if (sigwait(&set, &sig) != 0) {
      continue;
    }
    if (sig == SIGHUP) {
      {
        std::lock_guard lock(reload_mu);
        ++reloads_pending;
      }
      reload_cv.notify_one();
      continue;
    }
    if (sig == SIGTERM || sig == SIGINT) {
      sd_notify(0, "STOPPING=1");
      log_event(LogLevel::notice, "", "stopping", {{"signal", sig == SIGTERM ? "TERM" : "INT"}});
      // smfi_stop() waits for libmilter's listener lock, which the listener holds while it
      // polls (up to 5 s): stop from another thread and wake the listener with connections
      // until smfi_main() has returned.
      std::thread stopper([] { smfi_stop(); });
      while (!milter_done) {
        wake_listener(mc.socket);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      stopper.join();
    }
    break;  // SIGTERM/SIGINT, or SIGUSR1 from a stopped libmilter
  }
  {
    std::lock_guard lock(reload_mu);
    reloader_quit = true;
  }
  reload_cv.notify_one();
  reloader.join();
  milter.join();
  if (policy) policy->stop();
  sd_notify(0, "STOPPING=1");
  log_event(LogLevel::notice, "", "stopped");
  return milter_rc == MI_SUCCESS ? 0 : kExitSoftware;
}

}  // namespace
}  // namespace bouncegate::milter

int main(int argc, char** argv) {
  using namespace bouncegate;
  DaemonSpec spec;
  spec.name = "bouncegate-milter";
  spec.summary =
      "bouncegate-milter: refuses suppressed recipients for Postfix or Sendmail and adds "
      "List-Unsubscribe";
  spec.check_help = "validate the configuration and token keys, then exit";
  spec.exit_codes =
      "0 ok, 64 usage, 69 unavailable, 70 milter library failure, 78 bad "
      "configuration";
  spec.describe = [](const Config& c) { return "milter socket " + c.milter.socket; };
  DaemonStart start = daemon_front_door(spec, argc, argv);
  if (start.exit) return *start.exit;
  const std::string& config_path = start.config_path;
  return milter::run(config_path);
}
