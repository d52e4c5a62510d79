// The relay's asynchronous Redis client: hiredis' async API driven by Asio's descriptor waits
// (the adapter is hiredis' five event hooks), one context, owned by the io thread.
#include "relay/async_redis.hpp"

#include <hiredis/async.h>

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

AsyncRedis::AsyncRedis(asio::any_io_executor ex, const RedisConfig& cfg)
    : ex_(std::move(ex)), cfg_(cfg) {}

AsyncRedis::~AsyncRedis() {
  close();
}

void AsyncRedis::close() {
  closed_ = true;  // for good: a session resumed after the drain takes the store-error policy
  if (link_) link_->kill("relay stopping");
  link_.reset();
}

std::shared_ptr<AsyncRedis::Link> AsyncRedis::connect() {
  if (closed_) throw StoreError("redis: relay stopping");
  if (link_ && !link_->dead) return link_;
  // Backoff only after a connection could not be made (a timeout on a working connection
  // ends that connection; the next command connects again at once).
  if (std::chrono::steady_clock::now() < next_try_)
    throw StoreError("redis " + cfg_.address_text() + ": reconnect backoff");
  redisAsyncContext* ac = cfg_.unix_path.empty() ? redisAsyncConnect(cfg_.host.c_str(), cfg_.port)
                                                 : redisAsyncConnectUnix(cfg_.unix_path.c_str());
  if (!ac || ac->err) {
    std::string e = ac ? ac->errstr : "out of memory";
    if (ac) redisAsyncFree(ac);
    next_try_ = std::chrono::steady_clock::now() + cfg_.reconnect_backoff;
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
  // AUTH and SELECT go first, in order; a refusal ends the link (and fails what follows).
  auto check = [l](const char* what) {
    auto p = std::make_shared<Pending>();
    // Only a refusal ends the link here; a lost connection already says why.
    p->wake = [l, p, what] {
      if (p->value && p->value->type == RedisValue::error)
        l->kill(std::string("redis ") + what + " refused: " + p->value->str);
    };
    return p;
  };
  if (!cfg_.password.empty()) issue(ac, {"AUTH", cfg_.password}, check("AUTH"));
  if (cfg_.database != 0) issue(ac, {"SELECT", std::to_string(cfg_.database)}, check("SELECT"));
  link_ = l;
  return l;
}

asio::awaitable<RedisValue> AsyncRedis::command(const std::vector<std::string>& argv) {
  auto l = connect();
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
  if (!p->value) {
    if (!l->connected) next_try_ = std::chrono::steady_clock::now() + cfg_.reconnect_backoff;
    throw StoreError(p->error.empty() ? "redis: no reply" : p->error);
  }
  // As the blocking pool: a replica, a server still loading or one without its master is
  // not used again (a failover behind a moved address is followed by reconnecting).
  const std::string& e = p->value->str;
  if (p->value->type == RedisValue::error &&
      (e.rfind("READONLY", 0) == 0 || e.rfind("LOADING", 0) == 0 || e.rfind("MASTERDOWN", 0) == 0))
    l->kill("redis: " + e.substr(0, e.find(' ')));
  co_return std::move(*p->value);
}

}  // namespace bouncegate
