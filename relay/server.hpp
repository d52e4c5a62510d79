// The relay process: listeners, the shared runtime every session sees (config snapshot,
// store, upstream pool, throttle pause), reload and drain.
#pragma once

// clang-format off
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format on

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/access.hpp"
#include "core/config.hpp"
#include "core/outcome_writer.hpp"
#include "core/store.hpp"
#include "relay/async_redis.hpp"
#include "relay/upstream.hpp"

namespace bouncegate {

class ClientSession;
class FleetSlots;
class RelayBearerTokens;

// Checks what the relay needs beyond the config loader (listen addresses, allow list, CA
// file). Throws ConfigError.
void validate_relay_config(const Config& cfg);
// "127.0.0.1:10025" or "[::1]:10025".
asio::ip::tcp::endpoint parse_listen(const std::string& s);

// Shared by every session. Used from the single io_context thread only; blocking store
// calls run on `blocking` through offload().
struct RelayRuntime {
  explicit RelayRuntime(asio::io_context& io) : io(io) {}
  asio::io_context& io;
  asio::thread_pool blocking{4};
  std::shared_ptr<const Config> cfg;
  std::shared_ptr<SuppressionStore> store;
  // Outcome records and Message-IDs, written off the reply path (one per store).
  std::shared_ptr<OutcomeWriter> writer;
  // The RCPT gate's round trip on this thread (relay/async_redis), for every Redis setup.
  std::shared_ptr<AsyncRedis> async_redis;
  std::shared_ptr<UpstreamPool> pool;
  std::shared_ptr<const AccessList> access;
  std::chrono::steady_clock::time_point paused_until{};
  int sessions = 0;
  bool draining = false;
  uint64_t session_counter = 0;
  std::set<ClientSession*> live;

  // Runs a blocking call (Redis) off the io thread; exceptions come back to the caller.
  // `f` is taken by reference and must be a named object: g++ 12 destroys a temporary passed
  // by value to a coroutine in a co_await expression twice.
  template <class F>
  asio::awaitable<std::invoke_result_t<F&>> offload(F& f) {
    using R = std::invoke_result_t<F&>;
    auto ex = co_await asio::this_coro::executor;
    std::optional<R> result;
    std::exception_ptr error;
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&](auto handler) {
          // The work guard keeps io.run() from returning while the call runs (at drain, the
          // last session may be waiting here): otherwise the process exits with this
          // coroutine still suspended and the handler lands on a destroyed runtime.
          asio::post(blocking, [&, ex, handler = std::move(handler),
                                work = asio::make_work_guard(io)]() mutable {
            try {
              result.emplace(f());
            } catch (...) {
              error = std::current_exception();
            }
            asio::post(ex, std::move(handler));
          });
        },
        asio::use_awaitable);
    if (error) std::rethrow_exception(error);
    co_return std::move(*result);
  }
};

// One client connection, start to end.
asio::awaitable<void> run_client_session(RelayRuntime& rt, asio::ip::tcp::socket socket);
// Ends a session now with 421 (drain bound reached).
void force_close(ClientSession* s);

class RelayServer {
 public:
  RelayServer(asio::io_context& io, std::shared_ptr<const Config> cfg, std::string config_path);
  // Binds every listener; throws std::runtime_error naming the address on failure.
  void start();
  // SIGHUP: a new snapshot for new sessions; a bad file is refused and the old one kept.
  void reload();
  // SIGTERM: stop accepting; sessions get `bound` to finish, then 421.
  void drain(Millis bound);
  ~RelayServer();

 private:
  asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor);
  asio::awaitable<void> sweep_loop();
  // Replays the outcome journal (kept while Redis was down) when it is not empty.
  asio::awaitable<void> replay_journal();
  asio::awaitable<void> adopt_shared_pause();
  asio::awaitable<void> drain_loop(std::chrono::steady_clock::time_point deadline);

  RelayRuntime rt_;
  std::shared_ptr<FleetSlots> fleet_;          // upstream.fleet_max_connections, across reloads
  std::shared_ptr<RelayBearerTokens> tokens_;  // upstream.auth xoauth2 (null otherwise)
  std::string config_path_;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
  asio::steady_timer sweep_timer_;
  asio::steady_timer drain_timer_;
};

}  // namespace bouncegate
