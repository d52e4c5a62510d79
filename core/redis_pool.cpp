// hiredis connection pool: bounded size, timeouts on connect and every command, backoff after
// a failed connect so a dead Redis costs callers microseconds, not a timeout each.
#include "core/redis_pool.hpp"

#include <sys/time.h>

namespace bouncegate {
namespace {

timeval to_timeval(Millis m) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(m.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((m.count() % 1000) * 1000);
  return tv;
}

RedisValue convert(const redisReply* r) {
  RedisValue v;
  if (!r) return v;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::integer;
      v.integer_value = r->integer;
      break;
    case REDIS_REPLY_STRING:
      v.type = RedisValue::string;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = RedisValue::status;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      v.type = RedisValue::error;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::array;
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;
  }
  return v;
}

void append(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data());
}

}  // namespace

RedisPool::RedisPool(const RedisConfig& cfg) : cfg_(cfg) {}

RedisPool::~RedisPool() {
  for (auto* c : idle_) redisFree(c);
}

redisContext* RedisPool::connect_one() {
  timeval tv = to_timeval(cfg_.connect_timeout);
  redisContext* c = cfg_.unix_path.empty()
                        ? redisConnectWithTimeout(cfg_.host.c_str(), cfg_.port, tv)
                        : redisConnectUnixWithTimeout(cfg_.unix_path.c_str(), tv);
  if (!c) throw StoreError("redis " + cfg_.address_text() + ": out of memory");
  if (c->err) {
    std::string e = "redis " + cfg_.address_text() + ": " + c->errstr;
    redisFree(c);
    throw StoreError(e);
  }
  redisSetTimeout(c, to_timeval(cfg_.timeout));
  auto check = [&](redisReply* r, const char* what) {
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    std::string detail = r && r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len)
                                                           : (c->err ? c->errstr : "no reply");
    if (r) freeReplyObject(r);
    if (!ok) {
      redisFree(c);
      throw StoreError("redis " + cfg_.address_text() + ": " + what + " failed: " + detail);
    }
  };
  if (!cfg_.password.empty()) {
    // The password goes only to Redis; errors never include it.
    const char* argv[] = {"AUTH", cfg_.password.c_str()};
    size_t lens[] = {4, cfg_.password.size()};
    check(static_cast<redisReply*>(redisCommandArgv(c, 2, argv, lens)), "AUTH");
  }
  if (cfg_.database != 0) {
    std::string db = std::to_string(cfg_.database);
    const char* argv[] = {"SELECT", db.c_str()};
    size_t lens[] = {6, db.size()};
    check(static_cast<redisReply*>(redisCommandArgv(c, 2, argv, lens)), "SELECT");
  }
  return c;
}

RedisPool::Conn RedisPool::acquire() {
  std::unique_lock lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + cfg_.timeout;
  for (;;) {
    if (!idle_.empty()) {
      auto* c = idle_.back();
      idle_.pop_back();
      return {c};
    }
    if (open_ < cfg_.pool_size) {
      auto now = std::chrono::steady_clock::now();
      if (now < down_until_) throw StoreError(last_error_ + " (retrying after backoff)");
      ++open_;
      lock.unlock();
      try {
        return {connect_one()};
      } catch (const StoreError& e) {
        lock.lock();
        --open_;
        last_error_ = e.what();
        down_until_ = std::chrono::steady_clock::now() + cfg_.reconnect_backoff;
        cv_.notify_one();
        throw;
      }
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout)
      throw StoreError("redis " + cfg_.address_text() + ": no free connection within timeout");
  }
}

void RedisPool::release(Conn c, bool healthy) {
  std::lock_guard lock(mu_);
  if (healthy) {
    idle_.push_back(c.ctx);
  } else {
    redisFree(c.ctx);
    --open_;
  }
  cv_.notify_one();
}

RedisValue RedisPool::command(const std::vector<std::string>& argv) {
  auto r = pipeline({argv});
  return std::move(r.front());
}

std::vector<RedisValue> RedisPool::pipeline(const std::vector<std::vector<std::string>>& cmds) {
  Conn c = acquire();
  for (const auto& argv : cmds) append(c.ctx, argv);
  std::vector<RedisValue> out;
  out.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c.ctx, &raw) != REDIS_OK || !raw) {
      std::string e =
          "redis " + cfg_.address_text() + ": " + (c.ctx->err ? c.ctx->errstr : "no reply");
      if (raw) freeReplyObject(raw);
      {
        std::lock_guard lock(mu_);
        last_error_ = e;
      }
      release(c, false);
      throw StoreError(e);
    }
    out.push_back(convert(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  release(c, true);
  return out;
}

}  // namespace bouncegate
