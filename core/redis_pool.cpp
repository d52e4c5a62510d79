// hiredis connection pool: bounded size, timeouts on connect and every command, backoff after
// a failed connect so a dead Redis costs callers microseconds, not a timeout each.
#include "core/redis_pool.hpp"

#include <poll.h>
#include <sys/time.h>

#include <cstdlib>
#include <tuple>

namespace bouncegate {
namespace {

timeval to_timeval(Millis m) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(m.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((m.count() % 1000) * 1000);
  return tv;
}

RedisValue convert(const redisReply* r) {
  return redis_value_from(r);
}

}  // namespace

RedisValue redis_value_from(const redisReply* r) {
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
      for (size_t i = 0; i < r->elements; ++i)
        v.elements.push_back(redis_value_from(r->element[i]));
      break;
    default:
      break;
  }
  return v;
}

namespace {

// Formats the RESP command here: hiredis' own argv formatting (sdscatfmt per argument) was
// 40% of the instructions of a gate call.
void append(redisContext* c, const std::vector<std::string>& argv) {
  size_t size = 16;
  for (const auto& a : argv) size += a.size() + 24;
  std::string cmd;
  cmd.reserve(size);
  cmd += '*';
  cmd += std::to_string(argv.size());
  cmd += "\r\n";
  for (const auto& a : argv) {
    cmd += '$';
    cmd += std::to_string(a.size());
    cmd += "\r\n";
    cmd += a;
    cmd += "\r\n";
  }
  redisAppendFormattedCommand(c, cmd.data(), cmd.size());
}

}  // namespace

RedisPool::RedisPool(const RedisConfig& cfg) : cfg_(cfg) {}

RedisPool::~RedisPool() {
  for (auto* c : idle_) redisFree(c);
}

std::pair<std::string, int> redis_master_from_sentinels(const RedisConfig& cfg) {
  std::string errors;
  for (const auto& [host, port] : cfg.sentinel_nodes) {
    redisContext* s = redisConnectWithTimeout(host.c_str(), port, to_timeval(cfg.connect_timeout));
    if (!s || s->err) {
      errors += " " + host + ":" + std::to_string(port) + (s ? std::string(" ") + s->errstr : "");
      if (s) redisFree(s);
      continue;
    }
    redisSetTimeout(s, to_timeval(cfg.timeout));
    if (!cfg.sentinel_password.empty()) {
      const char* argv[] = {"AUTH", cfg.sentinel_password.c_str()};
      size_t lens[] = {4, cfg.sentinel_password.size()};
      if (auto* r = static_cast<redisReply*>(redisCommandArgv(s, 2, argv, lens)))
        freeReplyObject(r);
    }
    const char* argv[] = {"SENTINEL", "get-master-addr-by-name", cfg.sentinel_master.c_str()};
    size_t lens[] = {8, 23, cfg.sentinel_master.size()};
    auto* r = static_cast<redisReply*>(redisCommandArgv(s, 3, argv, lens));
    RedisValue v = convert(r);
    if (r) freeReplyObject(r);
    redisFree(s);
    if (v.type == RedisValue::array && v.elements.size() == 2)
      return {v.elements[0].str, std::atoi(v.elements[1].str.c_str())};
    errors +=
        " " + host + ":" + std::to_string(port) + " does not know master " + cfg.sentinel_master;
  }
  throw StoreError("redis sentinel: no master address:" + errors);
}

redisContext* RedisPool::connect_one() {
  timeval tv = to_timeval(cfg_.connect_timeout);
  std::string host = cfg_.host;
  int port = cfg_.port;
  if (!cfg_.sentinel_master.empty()) std::tie(host, port) = redis_master_from_sentinels(cfg_);
  redisContext* c = cfg_.unix_path.empty() || !cfg_.sentinel_master.empty()
                        ? redisConnectWithTimeout(host.c_str(), port, tv)
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
      // Redis sends nothing unasked, so a readable idle connection has been closed (a Redis
      // restart, a timeout on its side): drop it rather than fail the caller's command on it.
      pollfd p{c->fd, POLLIN | POLLRDHUP, 0};
      if (poll(&p, 1, 0) > 0) {
        redisFree(c);
        --open_;
        continue;
      }
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
  // One command without copying it into a pipeline of one.
  auto r = run(&argv, 1);
  return std::move(r.front());
}

std::vector<RedisValue> RedisPool::pipeline(const std::vector<std::vector<std::string>>& cmds) {
  return run(cmds.data(), cmds.size());
}

std::vector<RedisValue> RedisPool::run(const std::vector<std::string>* cmds, size_t count) {
  Conn c = acquire();
  for (size_t i = 0; i < count; ++i) append(c.ctx, cmds[i]);
  std::vector<RedisValue> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
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
  // A master demoted by a failover answers READONLY; such a connection is dropped so the next
  // one asks the sentinels again.
  bool healthy = true;
  for (const auto& v : out)
    if (v.type == RedisValue::error &&
        (v.str.rfind("READONLY", 0) == 0 || v.str.rfind("LOADING", 0) == 0 ||
         v.str.rfind("MASTERDOWN", 0) == 0))
      healthy = false;
  release(c, healthy);
  if (!healthy)
    throw StoreError("redis " + cfg_.address_text() + ": server is not a usable master");
  return out;
}

Event event_from_stream_entry(const RedisValue& e) {
  Event ev;
  if (e.elements.size() != 2) return ev;
  ev.id = e.elements[0].str;
  const auto& kv = e.elements[1].elements;
  for (size_t i = 0; i + 1 < kv.size(); i += 2) ev.fields[kv[i].str] = kv[i + 1].str;
  ev.ts_ms = std::atoll(ev.get("ts").c_str());
  return ev;
}

}  // namespace bouncegate
