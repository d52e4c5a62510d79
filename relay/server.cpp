// Listeners, upstream pool upkeep, SIGHUP reload and SIGTERM drain of the relay.
#include "relay/server.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <filesystem>

#include "core/accept_backoff.hpp"
#include "core/acs_username.hpp"
#include "core/endpoint.hpp"
#include "core/local_filter.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "relay/fleet_slots.hpp"
#include "relay/upstream_token.hpp"

namespace bouncegate {

using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

tcp::endpoint parse_listen(const std::string& s) {
  std::string why;
  auto ep = parse_endpoint(s, &why);
  if (!ep) throw ConfigError("relay.listen: '" + s + "': " + why);
  return tcp::endpoint(asio::ip::make_address(ep->host), ep->port);
}

void validate_relay_config(const Config& cfg) {
  for (const auto& l : cfg.relay.listen) parse_listen(l);
  try {
    AccessList a(cfg.relay.allow);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(cfg.source_file + ": " + e.what());
  }
  const UpstreamConfig& up = cfg.relay.upstream;
  if (is_acs_host(up.host) && up.username.empty())
    throw ConfigError(
        cfg.source_file + ": relay.upstream.username is empty: " + up.host +
        " accepts mail only after SMTP AUTH. Set username to the name of an SMTP Username "
        "resource of the ACS resource (or <ACS resource name>.<Entra application id>.<Entra "
        "tenant id>) and password_file to a file holding that Entra application's client "
        "secret: a name without '/' is read from $CREDENTIALS_DIRECTORY (systemd "
        "LoadCredential=) or beside this file, e.g. /etc/bouncegate/acs-smtp-password");
  const auto& ca = cfg.relay.upstream.ca_file;
  if (!ca.empty() && !std::filesystem::is_regular_file(ca))
    throw ConfigError(cfg.source_file + ": relay.upstream.ca_file: cannot read '" + ca + "'");
}

namespace {

// The journal is looked at every this many pool sweeps (one a second).
constexpr uint64_t kJournalReplaySweeps = 5;

bool same_upstream(const UpstreamConfig& a, const UpstreamConfig& b) {
  return a.host == b.host && a.port == b.port && a.tls == b.tls && a.ca_file == b.ca_file &&
         a.verify_hostname == b.verify_hostname && a.username == b.username &&
         a.password == b.password && a.helo == b.helo && a.pool_size == b.pool_size &&
         a.pool_idle == b.pool_idle && a.connect_timeout == b.connect_timeout &&
         a.command_timeout == b.command_timeout && a.data_timeout == b.data_timeout &&
         a.max_connections == b.max_connections && a.connection_wait == b.connection_wait &&
         a.auth == b.auth && a.entra.tenant_id == b.entra.tenant_id &&
         a.entra.client_id == b.entra.client_id && a.entra.client_secret == b.entra.client_secret &&
         a.entra.certificate_pem == b.entra.certificate_pem &&
         a.entra.private_key_pem == b.entra.private_key_pem &&
         a.entra.assertion_alg == b.entra.assertion_alg &&
         a.entra.endpoint() == b.entra.endpoint() && a.entra.scope == b.entra.scope &&
         a.entra.ca_file == b.entra.ca_file && a.entra.refresh_before == b.entra.refresh_before;
}

// Records queued off the reply path at most; past it a session writes its own (and waits).
constexpr size_t kWriterQueue = 10000;
// Deliveries wait at most this long in the writer's batch (records that may change a gate
// answer never do): at one message every few hundred microseconds, a trip takes several.
constexpr Millis kWriterLinger{3};

// The RCPT gate's asynchronous client: on the io thread; the sentinel question and name
// resolution run on the blocking pool.
std::shared_ptr<AsyncRedis> async_gate_client(RelayRuntime& rt, const Config& cfg) {
  return std::make_shared<AsyncRedis>(rt.io.get_executor(), rt.blocking.get_executor(), cfg.redis);
}

}  // namespace

RelayServer::RelayServer(asio::io_context& io, std::shared_ptr<const Config> cfg,
                         std::string config_path)
    : rt_(io), config_path_(std::move(config_path)), sweep_timer_(io), drain_timer_(io) {
  validate_relay_config(*cfg);
  rt_.cfg = cfg;
  rt_.store = std::make_shared<SuppressionStore>(cfg->redis, cfg->suppression);
  rt_.store->use_local_filter(LocalFilter::start_if_enabled(*cfg));
  rt_.writer = std::make_shared<OutcomeWriter>(rt_.store, kWriterQueue, kWriterLinger);
  rt_.async_redis = async_gate_client(rt_, *cfg);
  fleet_ = std::make_shared<FleetSlots>(rt_);
  tokens_ = make_bearer_tokens(rt_, cfg->relay.upstream);
  rt_.pool = std::make_shared<UpstreamPool>(io.get_executor(), cfg->relay.upstream,
                                            UpstreamHooks{fleet_, tokens_});
  rt_.access = std::make_shared<AccessList>(cfg->relay.allow);
}

void RelayServer::start() {
  for (const auto& l : rt_.cfg->relay.listen) {
    auto ep = parse_listen(l);
    auto a = std::make_unique<tcp::acceptor>(rt_.io);
    boost::system::error_code ec;
    a->open(ep.protocol(), ec);
    if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a->bind(ep, ec);
    if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + l + ": " + ec.message());
    log_event(LogLevel::info, "", "listening", {{"address", l}});
    acceptors_.push_back(std::move(a));
  }
  for (auto& a : acceptors_) asio::co_spawn(rt_.io, accept_loop(*a), asio::detached);
  asio::co_spawn(rt_.io, sweep_loop(), asio::detached);
}

awaitable<void> RelayServer::accept_loop(tcp::acceptor& acceptor) {
  AcceptBackoff backoff;
  asio::steady_timer pause(rt_.io);
  for (;;) {
    boost::system::error_code ec;
    tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (!acceptor.is_open()) co_return;
      // Out of descriptors: stop accepting for a while instead of spinning (AcceptBackoff).
      auto step =
          backoff.failure(ec.value(), ec.message(), "bouncegate_relay_accept_failures_total");
      if (step.wait.count() > 0) {
        pause.expires_after(step.wait);
        boost::system::error_code ignored;
        co_await pause.async_wait(asio::redirect_error(use_awaitable, ignored));
      }
      continue;
    }
    backoff.success();
    // Replies are written whole, one write per pipelined group: no reason to delay them.
    s.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(rt_.io, run_client_session(rt_, std::move(s)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log_event(LogLevel::error, "", "session ended by an error", {{"error", ex.what()}});
      }
    });
  }
}

awaitable<void> RelayServer::sweep_loop() {
  uint64_t ticks = 0;
  while (!rt_.draining) {
    sweep_timer_.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await sweep_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    rt_.pool->sweep();
    co_await adopt_shared_pause();
    co_await fleet_->renew();
    // Renewed on the side: a slow token endpoint never holds up this loop (slot renewals,
    // the fleet pause); the coroutine owns its token source, which a reload may replace.
    if (tokens_ && !tokens_->renewing())
      asio::co_spawn(rt_.io, renew_tokens(tokens_), asio::detached);
    if (++ticks % kJournalReplaySweeps == 0) co_await replay_journal();
  }
}

// Another relay saw the upstream throttle: this one backs off too, for what is left of it.
awaitable<void> RelayServer::adopt_shared_pause() {
  if (rt_.cfg->relay.throttle_pause.count() <= 0) co_return;
  auto store = rt_.store;
  auto ask = [store] { return store->shared_pause_until(); };
  try {
    int64_t until = co_await rt_.offload(ask);
    int64_t left = until - now_ms();
    if (left <= 0) co_return;
    auto local = std::chrono::steady_clock::now() + std::chrono::milliseconds(left);
    if (local > rt_.paused_until + std::chrono::seconds(1)) {
      log_event(LogLevel::notice, "", "fleet throttle pause adopted",
                {{"for", format_duration(Millis(left))}});
      rt_.paused_until = local;
    }
  } catch (const std::exception&) {
    // Redis down: the local pause (if any) is all there is.
  }
}

awaitable<void> RelayServer::replay_journal() {
  // record_or_journal replays after its next successful write; without new traffic after
  // Redis returns, journaled outcomes would wait for it, so the relay retries on its own.
  auto store = rt_.store;
  auto replay = [store]() -> size_t {
    return store->journal_size() > 0 ? store->replay_journal() : 0;
  };
  try {
    size_t n = co_await rt_.offload(replay);
    if (n > 0)
      log_event(LogLevel::notice, "", "journal replayed", {{"records", std::to_string(n)}});
  } catch (const std::exception& e) {
    log_event(LogLevel::warning, "", "journal replay failed", {{"error", e.what()}});
  }
}

void RelayServer::reload() {
  std::shared_ptr<const Config> next;
  std::shared_ptr<SuppressionStore> store;
  std::shared_ptr<OutcomeWriter> writer;
  try {
    next = load_config(config_path_);
    validate_relay_config(*next);
    // Built before anything is swapped in: a failure here (a thread that cannot start)
    // leaves the running store and writer as they were.
    store = std::make_shared<SuppressionStore>(next->redis, next->suppression);
    store->use_local_filter(LocalFilter::start_if_enabled(*next));
    writer = std::make_shared<OutcomeWriter>(store, kWriterQueue, kWriterLinger);
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "", "reload refused, keeping the running configuration",
              {{"error", e.what()}});
    return;
  }
  if (next->relay.listen != rt_.cfg->relay.listen)
    log_event(LogLevel::warning, "", "relay.listen changes take effect on restart");
  log_configure(next->logging.json, next->logging.level, "bouncegate-relay");
  // Running sessions keep the snapshot they started with.
  if (!same_upstream(next->relay.upstream, rt_.cfg->relay.upstream)) {
    rt_.pool->clear();
    tokens_ = make_bearer_tokens(rt_, next->relay.upstream);
    rt_.pool = std::make_shared<UpstreamPool>(rt_.io.get_executor(), next->relay.upstream,
                                              UpstreamHooks{fleet_, tokens_});
  }
  rt_.store = std::move(store);
  // The old writer stays with the sessions that started before; the last one to end writes
  // what it still holds.
  rt_.writer = std::move(writer);
  rt_.async_redis = async_gate_client(rt_, *next);
  rt_.access = std::make_shared<AccessList>(next->relay.allow);
  rt_.cfg = next;
  log_event(LogLevel::notice, "", "configuration reloaded", {{"file", config_path_}});
}

RelayServer::~RelayServer() {
  // Every slot still held goes back in one call; the idle connections closed after it find
  // their names already given back.
  fleet_->release_all();
  rt_.pool.reset();
}

void RelayServer::drain(Millis bound) {
  if (rt_.draining) return;
  rt_.draining = true;
  log_event(LogLevel::notice, "", "draining",
            {{"sessions", std::to_string(rt_.sessions)}, {"bound", format_duration(bound)}});
  for (auto& a : acceptors_) {
    boost::system::error_code ec;
    a->close(ec);
  }
  sweep_timer_.cancel();
  rt_.pool->clear();
  asio::co_spawn(rt_.io, drain_loop(std::chrono::steady_clock::now() + bound), asio::detached);
}

awaitable<void> RelayServer::drain_loop(std::chrono::steady_clock::time_point deadline) {
  // Polling keeps this simple: the process exits as soon as the last session is gone.
  while (!rt_.live.empty() && std::chrono::steady_clock::now() < deadline) {
    drain_timer_.expires_after(std::chrono::milliseconds(100));
    boost::system::error_code ec;
    co_await drain_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  auto live = rt_.live;  // force_close() makes sessions leave the set
  if (!live.empty())
    log_event(LogLevel::warning, "", "drain bound reached, closing sessions",
              {{"sessions", std::to_string(live.size())}});
  for (auto* s : live) force_close(s);
  // The gate's Redis connection waits for input for ever; closed, io.run() can return.
  if (rt_.async_redis) rt_.async_redis->close();
}

}  // namespace bouncegate
