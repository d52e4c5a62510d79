// The relay's asynchronous Redis client: hiredis' async API driven by Asio's descriptor waits
// (the adapter is hiredis' five event hooks), one context, owned by the io thread.
#include "relay/async_redis.hpp"

#include <arpa/inet.h>
#include <hiredis/async.h>
#include <netdb.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <optional>

namespace bouncegate {

namespace {

// One command's answer, filled by hiredis' callback (or by the link failing).
struct Pending {
  std::optional<RedisValue> value;
  std::string error;
  bool done = false;
  std::function<void()> wake;
  void finish() {
    done = true;
    if (wake) {
      auto w = std::move(wake);
      wake = nullptr;
      w();
    }
  }
};

}  // namespace

struct AsyncRedis::Link : std::enable_shared_from_this<Link> {
  explicit Link(asio::any_io_executor ex) : ex(std::move(ex)) {}
  asio::any_io_executor ex;
  redisAsyncContext* ac = nullptr;
  std::unique_ptr<asio::posix::stream_descriptor> sd;
  bool want_read = false, want_write = false, reading = false, writing = false;
  bool dead = false;
  bool connected = false;  // the connect callback said OK
  std::string why;         // why it died

  void arm(bool read) {
    bool& busy = read ? reading : writing;
    if (busy || dead || !sd) return;
    busy = true;
    sd->async_wait(read ? asio::posix::stream_descriptor::wait_read
                        : asio::posix::stream_descriptor::wait_write,
                   [self = shared_from_this(), read](const boost::system::error_code& ec) {
                     (read ? self->reading : self->writing) = false;
                     if (ec || self->dead || !self->ac) return;
                     if (read)
                       redisAsyncHandleRead(self->ac);
                     else
                       redisAsyncHandleWrite(self->ac);
                     // hiredis may have freed the context meanwhile (cleanup hook).
                     if (!self->dead && (read ? self->want_read : self->want_write))
                       self->arm(read);
                   });
  }
  // Ends the link: hiredis answers every pending command with a null reply.
  void kill(const std::string& reason) {
    if (dead || !ac) return;
    if (why.empty()) why = reason;
    redisAsyncContext* c = ac;
    redisAsyncFree(c);  // runs the callbacks, then the cleanup hook (ac = nullptr, dead)
  }
  void cleanup() {
    dead = true;
    ac = nullptr;
    want_read = want_write = false;
    if (sd) {
      sd->release();  // hiredis closes the descriptor itself
      sd.reset();
    }
  }
};

namespace {

AsyncRedis::Link* link_of(void* data) {
  return static_cast<AsyncRedis::Link*>(data);
}

void on_reply(redisAsyncContext* c, void* reply, void* priv) {
  auto* holder = static_cast<std::shared_ptr<Pending>*>(priv);
  std::shared_ptr<Pending> p = std::move(*holder);
  delete holder;
  if (p->done) return;
  if (reply) {
    p->value = redis_value_from(static_cast<redisReply*>(reply));
  } else {
    auto* l = link_of(c->ev.data);
    p->error = l && !l->why.empty() ? l->why : c->errstr[0] ? c->errstr : "connection lost";
  }
  p->finish();
}

void issue(redisAsyncContext* ac, const std::vector<std::string>& argv,
           const std::shared_ptr<Pending>& p) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* holder = new std::shared_ptr<Pending>(p);
  if (redisAsyncCommandArgv(ac, on_reply, holder, static_cast<int>(argv.size()), ptrs.data(),
                            lens.data()) != REDIS_OK) {
    delete holder;
    p->error = "redis: command not queued (connection closing)";
    p->finish();
  }
}

}  // namespace

AsyncRedis::AsyncRedis(asio::any_io_executor ex, asio::any_io_executor blocking,
                       const RedisConfig& cfg)
    : ex_(std::move(ex)), blocking_(std::move(blocking)), cfg_(cfg) {}

AsyncRedis::~AsyncRedis() {
  close();
}

void AsyncRedis::close() {
  closed_ = true;  // for good: a session resumed after the drain takes the store-error policy
  if (link_) link_->kill("relay stopping");
  link_.reset();
  // One still saying AUTH/SELECT: its pending answer fails at once.
  if (auto l = opening_.lock()) l->kill("relay stopping");
}

bool AsyncRedis::needs_lookup() const {
  if (!cfg_.sentinel_master.empty()) return true;
  if (!cfg_.unix_path.empty()) return false;
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, cfg_.host.c_str(), &a4) != 1 &&
         inet_pton(AF_INET6, cfg_.host.c_str(), &a6) != 1;
}

std::pair<std::string, int> AsyncRedis::locate() const {
  auto [host, port] = cfg_.sentinel_master.empty() ? std::pair(cfg_.host, cfg_.port)
                                                   : redis_master_from_sentinels(cfg_);
  // As hiredis resolves for the blocking pool: an IPv4 address first, IPv6 only when the name
  // has none (so both clients reach the same server, e.g. "localhost" with Redis bound to
  // 127.0.0.1 only).
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = EAI_NONAME;
  for (int family : {AF_INET, AF_INET6}) {
    hints.ai_family = family;
    rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (rc == 0 && found) break;
  }
  if (rc != 0 || !found)
    throw StoreError("redis " + host + ":" + std::to_string(port) + ": " + gai_strerror(rc));
  char text[INET6_ADDRSTRLEN] = {};
  const void* a =
      found->ai_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr)
          : &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr;
  inet_ntop(found->ai_family, a, text, sizeof text);
  freeaddrinfo(found);
  return {text, port};
}

std::shared_ptr<AsyncRedis::Link> AsyncRedis::open(const std::string& host, int port) {
  redisAsyncContext* ac = cfg_.unix_path.empty() || !cfg_.sentinel_master.empty()
                              ? redisAsyncConnect(host.c_str(), port)
                              : redisAsyncConnectUnix(cfg_.unix_path.c_str());
  if (!ac || ac->err) {
    std::string e = ac ? ac->errstr : "out of memory";
    if (ac) redisAsyncFree(ac);
    throw StoreError("redis " + cfg_.address_text() + ": " + e);
  }
  auto l = std::make_shared<Link>(ex_);
  l->ac = ac;
  l->sd = std::make_unique<asio::posix::stream_descriptor>(ex_, ac->c.fd);
  ac->ev.data = l.get();
  ac->ev.addRead = [](void* d) {
    link_of(d)->want_read = true;
    link_of(d)->arm(true);
  };
  ac->ev.delRead = [](void* d) { link_of(d)->want_read = false; };
  ac->ev.addWrite = [](void* d) {
    link_of(d)->want_write = true;
    link_of(d)->arm(false);
  };
  ac->ev.delWrite = [](void* d) { link_of(d)->want_write = false; };
  ac->ev.cleanup = [](void* d) { link_of(d)->cleanup(); };
  redisAsyncSetConnectCallback(ac, [](const redisAsyncContext* c, int status) {
    if (status != REDIS_OK)
      link_of(c->ev.data)->dead = true;
    else
      link_of(c->ev.data)->connected = true;
  });
  redisAsyncSetDisconnectCallback(
      ac, [](const redisAsyncContext* c, int) { link_of(c->ev.data)->dead = true; });
  return l;
}

asio::awaitable<std::shared_ptr<AsyncRedis::Link>> AsyncRedis::connect() {
  std::pair<std::string, int> at{cfg_.host, cfg_.port};
  if (needs_lookup()) {
    // Sentinel and getaddrinfo block: on the blocking executor, back here with the answer.
    std::optional<std::pair<std::string, int>> found;
    std::exception_ptr error;
    // Captures by reference only (g++ 12 and temporaries in co_await expressions).
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&](auto handler) {
          asio::post(blocking_, [&, handler = std::move(handler), ex = ex_,
                                 work = asio::make_work_guard(ex_)]() mutable {
            try {
              found = locate();
            } catch (...) {
              error = std::current_exception();
            }
            asio::post(ex, std::move(handler));
          });
        },
        asio::use_awaitable);
    if (error) std::rethrow_exception(error);
    at = *found;
  }
  if (closed_) throw StoreError("redis: relay stopping");
  auto l = open(at.first, at.second);
  opening_ = l;
  // AUTH and SELECT are answered before any command goes out: a command sent behind a
  // SELECT that fails would run against database 0. Without them the first command goes out
  // behind the connection itself (hiredis buffers it), as before.
  // Named arguments: g++ 12 cannot keep literal and braced temporaries across this co_await.
  if (!cfg_.password.empty()) {
    const std::vector<std::string> auth{"AUTH", cfg_.password};
    co_await say_first(l, auth);
  }
  if (cfg_.database != 0) {
    const std::vector<std::string> select{"SELECT", std::to_string(cfg_.database)};
    co_await say_first(l, select);
  }
  co_return l;
}

asio::awaitable<void> AsyncRedis::say_first(const std::shared_ptr<Link>& l,
                                            const std::vector<std::string>& argv) {
  RedisValue v = co_await exchange(l, argv);
  if (v.type != RedisValue::error) co_return;
  // Redis' own text names the trouble (WRONGPASS, ERR DB index is out of range); the password
  // is never part of it.
  std::string e = "redis " + cfg_.address_text() + ": " + argv[0] + " refused: " + v.str;
  l->kill(e);
  throw StoreError(e);
}

asio::awaitable<std::shared_ptr<AsyncRedis::Link>> AsyncRedis::ready_link() {
  for (;;) {
    if (closed_) throw StoreError("redis: relay stopping");
    if (link_ && !link_->dead) co_return link_;
    if (!connecting_) break;
    // Another command is connecting: wait for it (at most what one command may take before
    // its connection is up: a sentinel or a name server that does not answer must not hold
    // every RCPT), then look again.
    auto resume = std::make_shared<std::function<void()>>();
    auto woken = std::make_shared<bool>(false);
    asio::steady_timer bound(ex_);
    bound.expires_after(cfg_.timeout + cfg_.connect_timeout);
    bound.async_wait([resume](const boost::system::error_code& ec) {
      if (!ec && *resume) std::exchange(*resume, nullptr)();
    });
    // Captures by reference only (g++ 12 and temporaries in co_await expressions).
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          *resume = [h, ex = ex_] { asio::post(ex, std::move(*h)); };
          connect_waiters_.push_back([resume, woken] {
            *woken = true;
            if (*resume) std::exchange(*resume, nullptr)();
          });
        },
        asio::use_awaitable);
    bound.cancel();
    if (!*woken)
      throw StoreError("redis " + cfg_.address_text() + ": no connection within " +
                       format_duration(cfg_.timeout + cfg_.connect_timeout));
    if (closed_) throw StoreError("redis: relay stopping");
    if (!connecting_ && (!link_ || link_->dead))
      throw StoreError(last_connect_error_.empty() ? "redis: connection lost"
                                                   : last_connect_error_);
  }
  // Backoff only after a connection could not be made (a timeout on a working connection
  // ends that connection; the next command connects again at once).
  if (std::chrono::steady_clock::now() < next_try_)
    throw StoreError("redis " + cfg_.address_text() + ": reconnect backoff");
  connecting_ = true;
  std::shared_ptr<Link> l;
  std::exception_ptr error;
  try {
    l = co_await connect();
  } catch (const StoreError& e) {
    last_connect_error_ = e.what();
    error = std::current_exception();
  } catch (const std::exception& e) {
    last_connect_error_ = std::string("redis: ") + e.what();
    error = std::make_exception_ptr(StoreError(last_connect_error_));
  }
  connecting_ = false;
  if (error || closed_) {
    if (l) l->kill("redis: relay stopping");
    next_try_ = std::chrono::steady_clock::now() + cfg_.reconnect_backoff;
  } else {
    link_ = l;
  }
  auto waiters = std::move(connect_waiters_);
  connect_waiters_.clear();
  for (auto& w : waiters) w();
  if (error) std::rethrow_exception(error);
  if (closed_) throw StoreError("redis: relay stopping");
  co_return l;
}

asio::awaitable<RedisValue> AsyncRedis::exchange(const std::shared_ptr<Link>& l,
                                                 const std::vector<std::string>& argv) {
  if (l->dead || !l->ac) throw StoreError("redis " + cfg_.address_text() + ": connection lost");
  auto p = std::make_shared<Pending>();
  issue(l->ac, argv, p);
  asio::steady_timer timer(ex_);
  // Not yet connected: redis.connect_timeout for the connection comes on top.
  const Millis bound = l->connected ? cfg_.timeout : cfg_.timeout + cfg_.connect_timeout;
  if (!p->done) {
    timer.expires_after(bound);
    timer.async_wait([p, l, t = bound](const boost::system::error_code& ec) {
      if (ec || p->done) return;
      l->kill("redis: timeout after " + format_duration(t));
    });
    // Captures by reference only (g++ 12 and temporaries in co_await expressions).
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          p->wake = [h, ex = ex_] { asio::post(ex, std::move(*h)); };
        },
        asio::use_awaitable);
    timer.cancel();
  }
  if (!p->value) throw StoreError(p->error.empty() ? "redis: no reply" : p->error);
  co_return std::move(*p->value);
}

asio::awaitable<RedisValue> AsyncRedis::command(const std::vector<std::string>& argv) {
  auto l = co_await ready_link();
  const bool was_connected = l->connected;
  std::optional<RedisValue> got;
  std::string failed;
  try {
    got = co_await exchange(l, argv);
  } catch (const StoreError& e) {
    failed = e.what();
  }
  if (!got) {
    // The connection itself could not be made: back off before the next attempt.
    if (!was_connected && !l->connected)
      next_try_ = std::chrono::steady_clock::now() + cfg_.reconnect_backoff;
    throw StoreError(failed);
  }
  RedisValue& v = *got;
  // As the blocking pool: a replica, a server still loading or one without its master is
  // not used again (with Sentinel the next connection asks for the current master).
  const std::string& e = v.str;
  if (v.type == RedisValue::error &&
      (e.rfind("READONLY", 0) == 0 || e.rfind("LOADING", 0) == 0 || e.rfind("MASTERDOWN", 0) == 0))
    l->kill("redis: " + e.substr(0, e.find(' ')));
  co_return v;
}

}  // namespace bouncegate
