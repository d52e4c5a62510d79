// bouncegate-web: the acceptor (do_listen) and per-connection I/O loop (do_session) around
// handle_request; signals (SIGHUP reload, SIGTERM drain), sd_notify, --check-config.
// clang-format off
#include <utility>  // first: Boost 1.74's awaitable.hpp uses std::exchange without including it
// clang-format on
#include <systemd/sd-daemon.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/range/iterator_range.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include "core/accept_backoff.hpp"
#include "core/daemon_entry.hpp"
#include "core/endpoint.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "web/http_handler.hpp"
#include "web/message_framing.hpp"
#include "web/webhooks.hpp"

namespace bouncegate::web {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using net::awaitable;
using net::use_awaitable;

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr int kIoThreads = 4;  // store calls block; a few threads keep one slow call local

// "127.0.0.1:8025", "[::1]:8025" (validated with the configuration); throws ConfigError.
tcp::endpoint parse_listen(const std::string& s) {
  std::string why;
  auto ep = parse_endpoint(s, &why);
  if (!ep) throw ConfigError("web.listen: '" + s + "': " + why);
  return {net::ip::make_address(ep->host), ep->port};
}

// Bounded label for metrics: tokens and query strings never become label values.
std::string route_label(beast::string_view target) {
  if (target.starts_with("/u/")) return "/u/";
  if (target.starts_with("/acs/events")) return "/acs/events";
  if (target.starts_with("/api/")) return "/api/";
  return "other";
}

class Server {
 public:
  Server(net::io_context& ioc, std::string config_path, std::shared_ptr<const WebState> state)
      : ioc_(ioc),
        strand_(net::make_strand(ioc)),
        acceptor_(strand_),
        signals_(strand_, SIGHUP, SIGTERM, SIGINT),
        drain_timer_(strand_),
        watchdog_timer_(strand_),
        config_path_(std::move(config_path)),
        state_(std::move(state)) {}

  void start() {
    auto ep = parse_listen(snapshot()->config->web.listen);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(net::socket_base::max_listen_connections);
    listening_on_ = snapshot()->config->web.listen;
    net::co_spawn(strand_, do_listen(), net::detached);
    wait_for_signal();
    log_event(LogLevel::info, "", "listening", {{"listen", listening_on_}});
    sd_notify(0, "READY=1\nSTATUS=serving");
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
      watchdog_interval_ = std::chrono::microseconds(usec / 2);
      pet_watchdog();
    }
  }

  std::shared_ptr<const WebState> snapshot() {
    std::lock_guard lock(mu_);
    return state_;
  }

 private:
  awaitable<void> do_listen() {
    AcceptBackoff backoff;
    net::steady_timer pause(strand_);
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(net::make_strand(ioc_),
                                                           net::redirect_error(use_awaitable, ec));
      if (ec) {
        if (!acceptor_.is_open()) co_return;  // stopping
        // Out of descriptors: stop accepting for a while instead of spinning (AcceptBackoff).
        auto step =
            backoff.failure(ec.value(), ec.message(), "bouncegate_web_accept_failures_total");
        if (step.wait.count() > 0) {
          pause.expires_after(step.wait);
          boost::system::error_code ignored;
          co_await pause.async_wait(net::redirect_error(use_awaitable, ignored));
        }
        continue;
      }
      backoff.success();
      std::string id = "w" + std::to_string(++next_session_);
      ++sessions_;
      net::co_spawn(socket.get_executor(), do_session(std::move(socket), id),
                    [this](std::exception_ptr) { --sessions_; });
    }
  }

  awaitable<void> do_session(tcp::socket socket, std::string id) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      // A new snapshot per request: a reload applies from the next request on.
      auto state = snapshot();
      const WebConfig& wc = state->config->web;
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(wc.max_body);
      stream.expires_after(wc.request_timeout);
      boost::system::error_code ec;
      co_await http::async_read_header(stream, buffer, parser,
                                       net::redirect_error(use_awaitable, ec));
      if (!ec) {
        // The framing is judged from the header before any body is read (RFC 9112 6.3).
        const auto& h = parser.get();
        std::string te;  // every Transfer-Encoding field, as one list (RFC 9110 5.3)
        for (const auto& f :
             boost::make_iterator_range(h.equal_range(http::field::transfer_encoding)))
          te += (te.empty() ? "" : ", ") + std::string(f.value());
        BodyFraming f = body_framing(te, h.find(http::field::content_length) != h.end());
        if (f != BodyFraming::ok) {
          log_event(LogLevel::notice, id, "request refused",
                    {{"error", "transfer-encoding"}, {"value", te}});
          Response res =
              plain_response(f == BodyFraming::not_implemented ? http::status::not_implemented
                                                               : http::status::bad_request,
                             11, "Unsupported or malformed Transfer-Encoding.");
          res.keep_alive(false);
          co_await http::async_write(stream, res, net::redirect_error(use_awaitable, ec));
          break;
        }
        if (!parser.is_done())
          co_await http::async_read(stream, buffer, parser, net::redirect_error(use_awaitable, ec));
      }
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == net::error::connection_reset || ec == net::error::eof)
        break;
      if (ec) {
        // Malformed or oversized: answer once, then close (the rest of the stream is unreadable).
        bool too_big = ec == http::error::body_limit || ec == http::error::header_limit ||
                       ec == http::error::buffer_overflow;
        log_event(LogLevel::notice, id, "request refused", {{"error", ec.message()}});
        Response res =
            plain_response(too_big ? http::status::payload_too_large : http::status::bad_request,
                           11, too_big ? "Request too large." : "Malformed request.");
        res.keep_alive(false);
        stream.expires_after(wc.request_timeout);
        co_await http::async_write(stream, res, net::redirect_error(use_awaitable, ec));
        break;
      }
      Response res;
      try {
        res = handle_request(*state, parser.get(), id);
      } catch (const std::exception& e) {
        // Unexpected trouble still gets an answer (and Event Grid a reason to retry).
        log_event(LogLevel::error, id, "request failed", {{"error", e.what()}});
        res = plain_response(http::status::internal_server_error, parser.get().version(),
                             "Internal error.");
        res.keep_alive(false);
      }
      Metrics::instance().inc("bouncegate_web_requests_total",
                              {{"route", route_label(parser.get().target())},
                               {"status", std::to_string(res.result_int())}});
      if (stopping_) res.keep_alive(false);
      stream.expires_after(wc.request_timeout);
      co_await http::async_write(stream, res, net::redirect_error(use_awaitable, ec));
      if (ec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // Runs on the strand with the acceptor: a wedged event loop stops the pings.
  void pet_watchdog() {
    sd_notify(0, "WATCHDOG=1");
    watchdog_timer_.expires_after(watchdog_interval_);
    watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopping_) pet_watchdog();
    });
  }

  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_for_signal();
      } else {
        stop();
      }
    });
  }

  void reload() {
    sd_notify(0, "RELOADING=1");
    try {
      auto fresh = load_web_state(config_path_);
      log_configure(fresh->config->logging.json, fresh->config->logging.level, "bouncegate-web");
      if (fresh->config->web.listen != listening_on_)
        log_event(LogLevel::warning, "", "web.listen changed; takes effect after a restart");
      std::lock_guard lock(mu_);
      state_ = std::move(fresh);
    } catch (const std::exception& e) {
      log_event(LogLevel::error, "", "reload failed, keeping the running configuration",
                {{"error", e.what()}});
    }
    log_event(LogLevel::info, "", "configuration reloaded");
    sd_notify(0, "READY=1");
  }

  // Stop accepting, let running requests finish within request_timeout, then stop the loop.
  void stop() {
    sd_notify(0, "STOPPING=1");
    log_event(LogLevel::info, "", "stopping");
    stopping_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    watchdog_timer_.cancel();
    drain_deadline_ = std::chrono::steady_clock::now() + snapshot()->config->web.request_timeout;
    drain();
  }

  void drain() {
    if (sessions_ == 0 || std::chrono::steady_clock::now() >= drain_deadline_) {
      ioc_.stop();
      return;
    }
    drain_timer_.expires_after(std::chrono::milliseconds(50));
    drain_timer_.async_wait([this](const boost::system::error_code&) { drain(); });
  }

  net::io_context& ioc_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  net::signal_set signals_;
  net::steady_timer drain_timer_;
  net::steady_timer watchdog_timer_;
  std::chrono::microseconds watchdog_interval_{0};
  std::string config_path_;
  std::string listening_on_;
  std::mutex mu_;
  std::shared_ptr<const WebState> state_;
  std::atomic<int> sessions_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> next_session_{0};
  std::chrono::steady_clock::time_point drain_deadline_;
};

}  // namespace
}  // namespace bouncegate::web

int main(int argc, char** argv) {
  using namespace bouncegate;
  using namespace bouncegate::web;
  DaemonSpec spec;
  spec.name = "bouncegate-web";
  spec.summary = "bouncegate-web: one-click unsubscribe pages and the ACS delivery-report webhook";
  spec.check_help = "validate the configuration and keys, then exit";
  spec.exit_codes = "0 ok, 64 usage, 69 cannot listen, 78 bad configuration";
  spec.describe = [](const Config& c) {
    return "listen " + c.web.listen + ", event grid " +
           (c.web.event_grid_secret.empty() ? "off" : "on") + ", unsubscribe " +
           (c.unsubscribe.key_files.empty() ? "off" : "on") + ", api tokens " +
           std::to_string(c.web.api.tokens.size()) + ", webhooks " +
           std::to_string(c.webhooks.endpoints.size());
  };
  DaemonStart start = daemon_front_door(spec, argc, argv);
  if (start.exit) return *start.exit;
  const std::string& config_path = start.config_path;
  std::shared_ptr<const WebState> state;
  try {
    state = load_web_state(config_path);
  } catch (const std::exception& e) {
    std::cerr << "bouncegate-web: " << e.what() << "\n";
    return 78;
  }
  if (state->keyring.empty())
    log_event(LogLevel::warning, "", "no unsubscribe.key_files: /u/ links are not served");
  if (state->config->web.event_grid_secret.empty())
    log_event(LogLevel::warning, "", "no web.event_grid_secret_file: /acs/events is off");
  try {
    auto metrics = start_metrics_endpoint(state->config->metrics.web_listen,
                                          state->config->metrics.top_domains);
    boost::asio::io_context ioc(kIoThreads);
    Server server(ioc, config_path, state);
    server.start();
    WebhookDeliverer webhooks([&server] { return server.snapshot(); });
    webhooks.start();
    std::vector<std::thread> threads;
    for (int i = 1; i < kIoThreads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : threads) t.join();
    webhooks.stop();
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "", "cannot serve", {{"error", e.what()}});
    return 69;
  }
  log_event(LogLevel::info, "", "stopped");
  return 0;
}
