// A small thread-safe pool of hiredis connections with per-call timeouts, AUTH, SELECT and
// reconnect with backoff. One owner per context: a connection is used by one thread at a time.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/store_records.hpp"  // StoreError

namespace bouncegate {

// A Redis reply copied out of hiredis' structures (so the reply can be freed at once).
struct RedisValue {
  enum Type { nil, integer, string, status, error, array } type = nil;
  int64_t integer_value = 0;
  std::string str;
  std::vector<RedisValue> elements;
  bool is_nil() const { return type == nil; }
};

// A hiredis reply copied (nil for a null reply).
RedisValue redis_value_from(const redisReply* r);

// One stream entry ([id, [field, value, ...]]) as an Event; ts_ms from its "ts" field.
Event event_from_stream_entry(const RedisValue& entry);

// Asks the configured sentinels, in order, for the current master's host and port; blocking
// (redis.connect_timeout and redis.timeout per sentinel). Throws StoreError.
std::pair<std::string, int> redis_master_from_sentinels(const RedisConfig& cfg);

class RedisPool {
 public:
  explicit RedisPool(const RedisConfig& cfg);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Runs one command; throws StoreError on connection trouble or timeout. Error replies from
  // Redis come back as RedisValue::error (the caller decides, e.g. NOSCRIPT).
  RedisValue command(const std::vector<std::string>& argv);
  // Runs several commands on one connection in one round trip.
  std::vector<RedisValue> pipeline(const std::vector<std::vector<std::string>>& cmds);

 private:
  struct Conn {
    redisContext* ctx = nullptr;
  };
  Conn acquire();
  void release(Conn c, bool healthy);
  // Sends `count` commands on one connection and reads their replies.
  std::vector<RedisValue> run(const std::vector<std::string>* cmds, size_t count);
  redisContext* connect_one();

  RedisConfig cfg_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<redisContext*> idle_;
  int open_ = 0;
  std::chrono::steady_clock::time_point down_until_{};
  std::string last_error_;
};

}  // namespace bouncegate
