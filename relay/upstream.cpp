// Upstream SMTP client and connection pool: every read and write has a deadline; TLS is
// verified (CA, host name) with SNI and at least TLS 1.2; the password is never logged.
#include "relay/upstream.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>

#include "core/host_name.hpp"
#include "core/metrics.hpp"
#include "relay/deadline.hpp"
#include "relay/smtp_command.hpp"

namespace bouncegate {

using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// async_resolve bounded by `timeout`. getaddrinfo cannot be interrupted, so on timeout the
// caller goes on with error::timed_out and the late answer is dropped.
// Arguments are references to lvalues: g++ 12 mishandles temporaries passed to coroutines.
awaitable<tcp::resolver::results_type> resolve_within(tcp::socket& socket,
                                                      const UpstreamConfig& cfg,
                                                      boost::system::error_code& ec) {
  struct Race {
    explicit Race(asio::any_io_executor ex) : resolver(ex), timer(ex) {}
    tcp::resolver resolver;
    asio::steady_timer timer;
    bool decided = false;
  };
  using Signature = void(boost::system::error_code, tcp::resolver::results_type);
  auto race = std::make_shared<Race>(socket.get_executor());
  std::string host = cfg.host, port = std::to_string(cfg.port);
  Millis timeout = cfg.connect_timeout;
  // Named, not a temporary: g++ 12 destroys a temporary in a co_await expression twice.
  auto initiate = [race, host, port, timeout](auto handler) {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    race->timer.expires_after(timeout);
    race->timer.async_wait([race, h](boost::system::error_code e) {
      if (e || race->decided) return;
      race->decided = true;
      race->resolver.cancel();
      (*h)(boost::system::error_code(asio::error::timed_out), tcp::resolver::results_type());
    });
    race->resolver.async_resolve(
        host, port, [race, h](boost::system::error_code e, tcp::resolver::results_type r) {
          if (race->decided) return;
          race->decided = true;
          race->timer.cancel();
          (*h)(e, std::move(r));
        });
  };
  auto token = asio::redirect_error(use_awaitable, ec);
  // The awaitable is named too: as a temporary inside the co_await expression g++ 12 destroys
  // it (and the initiation it holds) twice.
  auto op = asio::async_initiate<decltype(token), Signature>(initiate, token);
  auto results = co_await std::move(op);
  co_return results;
}

}  // namespace

struct UpstreamConnection::Io : DeadlineState {
  Io(asio::any_io_executor ex, asio::ssl::context& tls) : DeadlineState(ex), stream(ex, tls) {}
  asio::ssl::stream<tcp::socket> stream;
  bool tls_on = false;
  void close_socket() {
    boost::system::error_code ignored;
    stream.lowest_layer().close(ignored);
  }
};

UpstreamConnection::UpstreamConnection(asio::any_io_executor ex, asio::ssl::context& tls,
                                       const UpstreamConfig& cfg)
    : cfg_(cfg), io_(std::make_shared<Io>(ex, tls)) {}

UpstreamConnection::~UpstreamConnection() {
  close();
}

std::string UpstreamConnection::label() const {
  return cfg_.host + ":" + std::to_string(cfg_.port);
}

void UpstreamConnection::close() {
  healthy_ = false;
  boost::system::error_code ec;
  stop_deadline(io_);
  io_->stream.lowest_layer().close(ec);
}

void UpstreamConnection::arm(Millis timeout) {
  arm_deadline(io_, timeout);
}

void UpstreamConnection::disarm() {
  disarm_deadline(io_);
}

void UpstreamConnection::set_aside() {
  stop_deadline(io_);
}

awaitable<void> UpstreamConnection::write_raw(std::string_view bytes, Millis timeout) {
  const std::array<std::string_view, 3> parts = {bytes, std::string_view(), std::string_view()};
  co_await write_raw(parts, timeout);
}

awaitable<void> UpstreamConnection::write_raw(std::array<std::string_view, 3> parts,
                                              Millis timeout) {
  boost::system::error_code ec;
  std::array<asio::const_buffer, 3> buffers;
  for (size_t i = 0; i < parts.size(); ++i)
    buffers[i] = asio::buffer(parts[i].data(), parts[i].size());
  arm(timeout);
  if (io_->tls_on)
    co_await asio::async_write(io_->stream, buffers, asio::redirect_error(use_awaitable, ec));
  else
    co_await asio::async_write(io_->stream.next_layer(), buffers,
                               asio::redirect_error(use_awaitable, ec));
  disarm();
  if (ec) {
    healthy_ = false;
    throw UpstreamError(io_->timed_out ? UpstreamFault::timeout : UpstreamFault::lost_during_data,
                        "write to " + label() + ": " + ec.message());
  }
}

awaitable<Reply> UpstreamConnection::read_reply(Millis timeout) {
  co_return co_await read_one_reply(timeout, false);
}

awaitable<Reply> UpstreamConnection::read_one_reply(Millis timeout, bool more_expected) {
  ReplyReader reader;
  if (!chunk_) chunk_ = std::make_unique_for_overwrite<char[]>(kReadChunk);
  for (;;) {
    size_t used = reader.feed(buf_);
    buf_.erase(0, used);
    if (reader.ready()) {
      Reply r = reader.take();
      if (!r.valid) {
        healthy_ = false;
        throw UpstreamError(UpstreamFault::protocol_error,
                            "bad reply from " + label() + ": " + r.error);
      }
      // This reply answers the command just sent; anything after it answers nothing.
      if (more_expected) co_return r;
      if (!buf_.empty() ||
          (io_->tls_on && (SSL_pending(io_->stream.native_handle()) > 0 ||
                           BIO_pending(SSL_get_rbio(io_->stream.native_handle())) > 0))) {
        healthy_ = false;
        Metrics::instance().inc("bouncegate_relay_upstream_desync_total");
      }
      co_return r;
    }
    if (reader.failed()) {
      healthy_ = false;
      throw UpstreamError(UpstreamFault::protocol_error, "reply from " + label() + " too long");
    }
    boost::system::error_code ec;
    arm(timeout);
    size_t n =
        io_->tls_on
            ? co_await io_->stream.async_read_some(asio::buffer(chunk_.get(), kReadChunk),
                                                   asio::redirect_error(use_awaitable, ec))
            : co_await io_->stream.next_layer().async_read_some(
                  asio::buffer(chunk_.get(), kReadChunk), asio::redirect_error(use_awaitable, ec));
    disarm();
    if (ec) {
      healthy_ = false;
      throw UpstreamError(io_->timed_out ? UpstreamFault::timeout : UpstreamFault::lost_during_data,
                          "read from " + label() + ": " + ec.message());
    }
    buf_.append(chunk_.get(), n);
  }
}

bool UpstreamConnection::has_pending_input() const {
  if (!buf_.empty()) return true;
  if (io_->tls_on) {
    // Asio hands OpenSSL whole socket reads: records may wait undecrypted in its read BIO,
    // where neither SSL_pending nor poll() sees them.
    SSL* ssl = io_->stream.native_handle();
    if (SSL_pending(ssl) > 0 || SSL_has_pending(ssl) || BIO_pending(SSL_get_rbio(ssl)) > 0)
      return true;
  }
  auto& sock = io_->stream.lowest_layer();
  if (!sock.is_open()) return true;
  pollfd p{};
  p.fd = sock.native_handle();
  p.events = POLLIN;
  // Readable means data or EOF; either way this connection is not in step for a new command.
  return ::poll(&p, 1, 0) != 0;
}

void UpstreamConnection::check_in_step() {
  // Before a command on a ready session, nothing may be waiting: anything there answers a
  // command this relay never sent. (During open() the server may still send TLS session
  // tickets, so only buffered reply bytes count there.)
  // Once open, a connection already found out of step takes no command at all, even when
  // the surplus is still inside TLS (SSL_pending) and nothing is buffered here.
  if (!buf_.empty() || (ready_ && (!healthy_ || has_pending_input()))) {
    healthy_ = false;
    Metrics::instance().inc("bouncegate_relay_upstream_desync_total");
    throw UpstreamError(UpstreamFault::protocol_error,
                        "upstream " + label() + " sent a reply to no command; connection dropped");
  }
}

awaitable<void> UpstreamConnection::send_rset(Millis timeout) {
  check_in_step();
  co_await write_raw("RSET\r\n", timeout);
  rset_unread_ = true;
}

awaitable<bool> UpstreamConnection::in_step_after_rset(Millis timeout) {
  if (!rset_unread_) co_return healthy_ && !has_pending_input();
  rset_unread_ = false;
  // Whatever followed the 250 while the connection sat idle is judged here, not as part of the
  // reply: an idle-timeout 421 (or EOF) is a server closing the channel (stale), anything else
  // answers no command (desync). Either way the connection is not used again.
  Reply r = co_await read_one_reply(timeout, true);
  if (!buf_.empty() && buf_.rfind("421", 0) != 0) {
    healthy_ = false;
    Metrics::instance().inc("bouncegate_relay_upstream_desync_total");
  }
  co_return r.code == 250 && healthy_ && !has_pending_input();
}

awaitable<Reply> UpstreamConnection::command(const std::string& line, Millis timeout) {
  check_in_step();
  co_await write_raw(line + "\r\n", timeout);
  co_return co_await read_reply(timeout);
}

namespace {
// How long the second reply of a pair is waited for once the first was refused.
constexpr Millis kRefusedPairWait{5000};
// How long acquire() waits for the reply to the RSET a pooled connection was left with.
constexpr Millis kPooledRsetWait{10000};
}  // namespace

awaitable<UpstreamConnection::PairReplies> UpstreamConnection::command_pair(
    const std::string& first, const std::string& second, Millis timeout) {
  check_in_step();
  co_await write_raw(first + "\r\n" + second + "\r\n", timeout);
  PairReplies out;
  out.first = co_await read_one_reply(timeout, true);
  if (out.first.code == 421) {
    healthy_ = false;  // closing the channel: whatever else it sends is not read
    co_return out;
  }
  // After a refused first command the second's answer only follows from it: it is waited for
  // briefly (the client is waiting for the refusal), and without it, or with a 421, the
  // connection is not used again.
  const Millis wait = out.first.positive() ? timeout : std::min(timeout, kRefusedPairWait);
  try {
    out.second = co_await read_reply(wait);
    if (out.second->code == 421) healthy_ = false;
  } catch (const UpstreamError& e) {
    healthy_ = false;
    out.second_error = e;
  }
  co_return out;
}

awaitable<Reply> UpstreamConnection::ehlo() {
  const std::string& name = cfg_.helo.empty() ? host_name() : cfg_.helo;
  Reply r = co_await command("EHLO " + name, cfg_.command_timeout);
  if (r.code != 250)
    throw UpstreamError(UpstreamFault::protocol_error, "EHLO refused: " + r.one_line(),
                        SmtpCommand::ehlo, r);
  caps_ = capabilities_from_ehlo(r);
  co_return r;
}

awaitable<void> UpstreamConnection::start_tls() {
  if (!buf_.empty())  // bytes sent before the handshake must not count as protected
    throw UpstreamError(UpstreamFault::tls_failed, "data before TLS handshake",
                        SmtpCommand::starttls);
  SSL* ssl = io_->stream.native_handle();
  boost::system::error_code ec;
  asio::ip::make_address(cfg_.host, ec);
  bool is_ip = !ec;
  if (!is_ip) SSL_set_tlsext_host_name(ssl, cfg_.host.c_str());
  io_->stream.set_verify_mode(asio::ssl::verify_peer);
  if (cfg_.verify_hostname) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (is_ip)
      X509_VERIFY_PARAM_set1_ip_asc(param, cfg_.host.c_str());
    else
      SSL_set1_host(ssl, cfg_.host.c_str());
  }
  ec = {};
  arm(cfg_.connect_timeout);
  co_await io_->stream.async_handshake(asio::ssl::stream_base::client,
                                       asio::redirect_error(use_awaitable, ec));
  disarm();
  if (ec) {
    long verify = SSL_get_verify_result(ssl);
    std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : ec.message();
    throw UpstreamError(UpstreamFault::tls_failed, "TLS with " + label() + ": " + why,
                        SmtpCommand::starttls);
  }
  io_->tls_on = true;
}

awaitable<void> UpstreamConnection::authenticate() {
  // The EHLO reply after TLS says which mechanisms are offered.
  Reply e = co_await ehlo();
  std::string mechs = ehlo_line(e, "AUTH");
  auto offered = [&](const std::string& m) {
    return mechs.find(" " + m + " ") != std::string::npos ||
           (mechs.size() >= m.size() && mechs.compare(mechs.size() - m.size(), m.size(), m) == 0 &&
            mechs[mechs.size() - m.size() - 1] == ' ');
  };
  Reply r;
  if (cfg_.auth == "xoauth2") {
    // RFC 7628-style XOAUTH2 as ACS documents it: user = the SMTP Username, an Entra token.
    if (!offered("XOAUTH2"))
      throw UpstreamError(UpstreamFault::auth_failed,
                          "upstream " + label() + " does not offer AUTH XOAUTH2",
                          SmtpCommand::auth);
    const std::string ir = "user=" + cfg_.username + "\x01auth=Bearer " + bearer + "\x01\x01";
    r = co_await command("AUTH XOAUTH2 " + base64(ir), cfg_.command_timeout);
    // A refusal comes as a 334 challenge (base64 JSON saying why); an empty line ends it.
    if (r.code == 334) r = co_await command("", cfg_.command_timeout);
  } else if (offered("PLAIN")) {
    std::string token = std::string(1, '\0') + cfg_.username + std::string(1, '\0') + cfg_.password;
    r = co_await command("AUTH PLAIN " + base64(token), cfg_.command_timeout);
  } else if (offered("LOGIN")) {
    r = co_await command("AUTH LOGIN", cfg_.command_timeout);
    if (r.code == 334) r = co_await command(base64(cfg_.username), cfg_.command_timeout);
    if (r.code == 334) r = co_await command(base64(cfg_.password), cfg_.command_timeout);
  } else {
    throw UpstreamError(UpstreamFault::auth_failed,
                        "upstream " + label() + " offers neither AUTH PLAIN nor LOGIN",
                        SmtpCommand::auth);
  }
  if (r.code != 235)
    throw UpstreamError(UpstreamFault::auth_failed,
                        "AUTH as " + cfg_.username + " rejected: " + r.one_line(),
                        SmtpCommand::auth, r);
}

awaitable<void> UpstreamConnection::open() {
  boost::system::error_code ec;
  auto endpoints = co_await resolve_within(io_->stream.next_layer(), cfg_, ec);
  if (ec)
    throw UpstreamError(UpstreamFault::connect_failed, "resolve " + cfg_.host + ": " + ec.message(),
                        SmtpCommand::connect);
  arm(cfg_.connect_timeout);
  co_await asio::async_connect(io_->stream.next_layer(), endpoints,
                               asio::redirect_error(use_awaitable, ec));
  disarm();
  // A connect that times out is a connect failure like any other (421 4.4.1), not a
  // transaction timeout.
  if (ec)
    throw UpstreamError(
        UpstreamFault::connect_failed,
        "connect to " + label() + ": " + (io_->timed_out ? std::string("timed out") : ec.message()),
        SmtpCommand::connect);
  // Message data goes out in chunks as it arrives; with Nagle the last small chunk waits for
  // the upstream's delayed ACK (about 20 ms per 100 KB message in bench/run).
  io_->stream.next_layer().set_option(tcp::no_delay(true), ec);
  if (cfg_.tls == "implicit") co_await start_tls();
  Reply greeting;
  try {
    greeting = co_await read_reply(cfg_.connect_timeout);
  } catch (const UpstreamError& e) {
    throw UpstreamError(UpstreamFault::connect_failed, e.what(), SmtpCommand::connect);
  }
  if (greeting.code != 220)
    throw UpstreamError(UpstreamFault::connect_failed, "greeting: " + greeting.one_line(),
                        SmtpCommand::connect, greeting);
  Reply e = co_await ehlo();
  if (cfg_.tls == "starttls") {
    if (ehlo_line(e, "STARTTLS").empty())
      throw UpstreamError(UpstreamFault::tls_failed, "upstream does not offer STARTTLS",
                          SmtpCommand::starttls);
    Reply r = co_await command("STARTTLS", cfg_.command_timeout);
    if (r.code != 220)
      throw UpstreamError(UpstreamFault::tls_failed, "STARTTLS refused: " + r.one_line(),
                          SmtpCommand::starttls, r);
    co_await start_tls();
  }
  if (!cfg_.username.empty())
    co_await authenticate();
  else if (io_->tls_on)
    co_await ehlo();  // RFC 3207: forget what was learned before TLS
  healthy_ = true;
  ready_ = true;
}

UpstreamPool::UpstreamPool(asio::any_io_executor ex, const UpstreamConfig& cfg, UpstreamHooks hooks)
    : ex_(ex),
      cfg_(cfg),
      tls_(asio::ssl::context::tls_client),
      fleet_(std::move(hooks.fleet)),
      tokens_(std::move(hooks.tokens)) {
  SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
  if (!cfg_.ca_file.empty())
    tls_.load_verify_file(cfg_.ca_file);
  else
    tls_.set_default_verify_paths();
  tls_.set_verify_mode(asio::ssl::verify_peer);
}

awaitable<std::unique_ptr<UpstreamConnection>> UpstreamPool::acquire() {
  sweep();
  auto& metrics = Metrics::instance();
  while (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    // An idle connection the server wrote to (an idle-timeout 421, surplus replies) or closed
    // is out of step: never handed to a session. The RSET sent by release() is answered
    // first, and only by a 250.
    bool in_step = false;
    try {
      // Normally long answered; a server that sits on an RSET for seconds is not waited for
      // the whole command_timeout by a session that can have another connection.
      in_step = co_await c->in_step_after_rset(std::min(cfg_.command_timeout, kPooledRsetWait));
    } catch (const UpstreamError&) {
    }
    if (!in_step) {
      metrics.inc("bouncegate_relay_upstream_connections_total", {{"kind", "stale"}});
      metrics.set_gauge("bouncegate_relay_upstream_pool_idle", static_cast<double>(idle_.size()));
      continue;
    }
    c->reused = true;
    metrics.inc("bouncegate_relay_upstream_connections_total", {{"kind", "reused"}});
    metrics.set_gauge("bouncegate_relay_upstream_pool_idle", static_cast<double>(idle_.size()));
    co_return c;
  }
  // upstream.max_connections: wait (bounded) for a connection to come back or close rather
  // than open one more; everything runs on the io thread, so the count needs no lock.
  if (cfg_.max_connections > 0 && *open_ >= cfg_.max_connections) {
    auto until = std::chrono::steady_clock::now() + cfg_.connection_wait;
    asio::steady_timer wait(ex_);
    while (*open_ >= cfg_.max_connections && idle_.empty() &&
           std::chrono::steady_clock::now() < until) {
      wait.expires_after(std::chrono::milliseconds(10));
      co_await wait.async_wait(asio::use_awaitable);
    }
    if (!idle_.empty()) co_return co_await acquire();
    if (*open_ >= cfg_.max_connections) {
      metrics.inc("bouncegate_relay_upstream_connection_waits_total", {{"result", "timeout"}});
      throw UpstreamError(UpstreamFault::throttled,
                          "all " + std::to_string(cfg_.max_connections) +
                              " upstream connections busy (upstream.max_connections)");
    }
    metrics.inc("bouncegate_relay_upstream_connection_waits_total", {{"result", "got"}});
  }
  // This relay's count is taken before the fleet is asked: sessions waiting for a fleet slot
  // hold their place under max_connections, so together they never open more than it.
  ++*open_;
  auto counted = std::shared_ptr<void>(nullptr, [open = open_](void*) {
    --*open;
    Metrics::instance().set_gauge("bouncegate_relay_upstream_connections_open", *open);
  });
  // The fleet's cap (upstream.fleet_max_connections): a slot in Redis before connecting; while
  // every slot is taken, a connection of this relay coming back idle serves as well.
  std::optional<std::string> fleet_slot;
  if (fleet_ && fleet_->max() > 0) {
    auto until = std::chrono::steady_clock::now() + cfg_.connection_wait;
    asio::steady_timer wait(ex_);
    bool waited = false;
    for (;;) {
      fleet_slot = co_await fleet_->claim();
      if (fleet_slot) break;
      if (!idle_.empty()) {
        counted.reset();
        co_return co_await acquire();
      }
      if (std::chrono::steady_clock::now() >= until) {
        metrics.inc("bouncegate_relay_upstream_connection_waits_total",
                    {{"result", "fleet_timeout"}});
        throw UpstreamError(UpstreamFault::throttled, "all " + std::to_string(fleet_->max()) +
                                                          " upstream connections of the fleet busy "
                                                          "(upstream.fleet_max_connections)");
      }
      waited = true;
      wait.expires_after(std::chrono::milliseconds(100));
      co_await wait.async_wait(asio::use_awaitable);
    }
    if (waited)
      metrics.inc("bouncegate_relay_upstream_connection_waits_total", {{"result", "fleet_got"}});
  }
  // From here the slot (count and fleet name) is released whatever happens, also when the
  // connection cannot be made.
  auto slot = std::shared_ptr<void>(
      nullptr, [counted, fleet = fleet_, name = fleet_slot.value_or("")](void*) {
        if (fleet && !name.empty()) fleet->release(name);
      });
  counted.reset();
  auto c = std::make_unique<UpstreamConnection>(ex_, tls_, cfg_);
  c->slot = std::move(slot);
  metrics.set_gauge("bouncegate_relay_upstream_connections_open", *open_);
  if (cfg_.auth == "xoauth2") {
    if (!tokens_)
      throw UpstreamError(UpstreamFault::auth_failed, "no access token source for xoauth2",
                          SmtpCommand::auth);
    c->bearer = co_await tokens_->token();
  }
  try {
    co_await c->open();
  } catch (const UpstreamError& e) {
    // A token the upstream refused (a 5xx answer to AUTH) is not offered again: the next
    // connection asks for a new one. A lost connection or a 4xx says nothing about the token.
    if (e.fault == UpstreamFault::auth_failed && !c->bearer.empty() && e.reply &&
        e.reply->code >= 500)
      tokens_->refused(c->bearer);
    throw;
  }
  caps_ = c->capabilities();
  metrics.inc("bouncegate_relay_upstream_connections_total", {{"kind", "new"}});
  co_return c;
}

awaitable<void> UpstreamPool::release(std::unique_ptr<UpstreamConnection> c) {
  if (!c || !c->healthy() || idle_.size() >= static_cast<size_t>(cfg_.pool_size)) co_return;
  try {
    co_await c->send_rset(cfg_.command_timeout);
  } catch (const UpstreamError&) {
    co_return;
  }
  if (idle_.size() >= static_cast<size_t>(cfg_.pool_size)) co_return;
  c->idle_since = std::chrono::steady_clock::now();
  c->set_aside();
  idle_.push_back(std::move(c));
  Metrics::instance().set_gauge("bouncegate_relay_upstream_pool_idle",
                                static_cast<double>(idle_.size()));
}

void UpstreamPool::sweep() {
  auto now = std::chrono::steady_clock::now();
  size_t before = idle_.size();
  while (!idle_.empty() && now - idle_.front()->idle_since > cfg_.pool_idle) idle_.pop_front();
  if (idle_.size() != before)
    Metrics::instance().set_gauge("bouncegate_relay_upstream_pool_idle",
                                  static_cast<double>(idle_.size()));
}

void UpstreamPool::clear() {
  idle_.clear();
}

}  // namespace bouncegate
