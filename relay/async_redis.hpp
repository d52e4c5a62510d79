// One hiredis asynchronous context on the relay's io thread, through a small Asio adapter:
// the RCPT gate's round trip without the hand-off to a pool thread and back. AUTH, SELECT,
// Sentinel, a per-command timeout and reconnect with backoff, as the blocking pool has; what
// blocks (asking the sentinels, resolving a host name) runs on the blocking executor.
#pragma once

// clang-format off
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format on

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/redis_pool.hpp"

namespace bouncegate {

namespace asio = boost::asio;

class AsyncRedis {
 public:
  // Used from the io thread only (executor `ex`); `blocking` runs the sentinel question and
  // name resolution (hiredis' async connect would call a blocking getaddrinfo).
  AsyncRedis(asio::any_io_executor ex, asio::any_io_executor blocking, const RedisConfig& cfg);
  ~AsyncRedis();
  AsyncRedis(const AsyncRedis&) = delete;
  AsyncRedis& operator=(const AsyncRedis&) = delete;

  // One command. Error replies come back as RedisValue::error; a connection that cannot be
  // had, a lost connection or redis.timeout throws StoreError (the caller's store-error policy).
  asio::awaitable<RedisValue> command(const std::vector<std::string>& argv);
  // Closes the connection (its read wait would keep the io_context running): at the end of
  // a drain, for good (a later command gets StoreError).
  void close();

  struct Link;  // one hiredis context, its descriptor and its pending replies

 private:
  // The ready link (connected, AUTH and SELECT answered), made if need be; throws StoreError.
  asio::awaitable<std::shared_ptr<Link>> ready_link();
  asio::awaitable<std::shared_ptr<Link>> connect();
  std::shared_ptr<Link> open(const std::string& host, int port);
  // AUTH or SELECT on a new link; a refusal ends it (StoreError with Redis' text).
  asio::awaitable<void> say_first(const std::shared_ptr<Link>& l,
                                  const std::vector<std::string>& argv);
  // One command on `l` within redis.timeout (plus connect_timeout before the connection is up).
  asio::awaitable<RedisValue> exchange(const std::shared_ptr<Link>& l,
                                       const std::vector<std::string>& argv);
  // The master's address (Sentinel) or the configured one, as a numeric host: blocking.
  std::pair<std::string, int> locate() const;
  bool needs_lookup() const;

  asio::any_io_executor ex_, blocking_;
  RedisConfig cfg_;
  std::shared_ptr<Link> link_;
  std::weak_ptr<Link> opening_;  // the link connect() is setting up (close() ends it too)
  std::chrono::steady_clock::time_point next_try_{};  // reconnect backoff
  bool closed_ = false;
  bool connecting_ = false;
  std::string last_connect_error_;
  std::vector<std::function<void()>> connect_waiters_;  // commands waiting for connect()
};

}  // namespace bouncegate
