// One hiredis asynchronous context on the relay's io thread, through a small Asio adapter:
// the RCPT gate's round trip without the hand-off to a pool thread and back. AUTH, SELECT,
// a per-command timeout and reconnect with backoff as the blocking pool has. Used for a
// numeric address or a unix socket, database 0, without Sentinel; otherwise the relay keeps
// the blocking pool (which resolves names off the io thread, waits for SELECT, follows
// Sentinel).
#pragma once

// clang-format off
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format on

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/redis_pool.hpp"

namespace bouncegate {

namespace asio = boost::asio;

class AsyncRedis {
 public:
  // Used from the io thread only (executor `ex`).
  AsyncRedis(asio::any_io_executor ex, const RedisConfig& cfg);
  ~AsyncRedis();
  AsyncRedis(const AsyncRedis&) = delete;
  AsyncRedis& operator=(const AsyncRedis&) = delete;

  // One command. Error replies come back as RedisValue::error; a connection that cannot be
  // had, a lost connection or redis.timeout throws StoreError (the caller's store-error policy).
  asio::awaitable<RedisValue> command(const std::vector<std::string>& argv);
  // Closes the connection (its read wait would keep the io_context running): at the end of
  // a drain. A later command connects again.
  void close();

  struct Link;  // one hiredis context, its descriptor and its pending replies

 private:
  std::shared_ptr<Link> connect();

  asio::any_io_executor ex_;
  RedisConfig cfg_;
  std::shared_ptr<Link> link_;
  std::chrono::steady_clock::time_point next_try_{};  // reconnect backoff
  bool closed_ = false;
};

}  // namespace bouncegate
