// One client (Postfix) session: reads pipelined commands, answers locally what the relay
// decides itself, forwards the rest to the upstream and learns from every upstream reply.
// clang-format off
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format on

#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>

#include "core/address.hpp"
#include "core/host_name.hpp"
#include "core/learn.hpp"
#include "core/lease_text.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/policy.hpp"
#include "core/record_effect.hpp"
#include "core/reply_policy.hpp"
#include "core/store_failure.hpp"
#include "core/unsubscribe.hpp"
#include "relay/deadline.hpp"
#include "relay/message_stream.hpp"
#include "relay/server.hpp"
#include "relay/session_state.hpp"
#include "relay/session_writes.hpp"

namespace bouncegate {

using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

struct ClientIo : DeadlineState {
  explicit ClientIo(tcp::socket s) : DeadlineState(s.get_executor()), socket(std::move(s)) {}
  tcp::socket socket;
  // The deadline's action: the pending read or write ends with operation_aborted and the
  // session still owns an open socket, so it can say 421 before closing (RFC 5321 4.5.3.2).
  void close_socket() {
    boost::system::error_code ignored;
    socket.cancel(ignored);
  }
  void close() {
    boost::system::error_code ignored;
    socket.close(ignored);
  }
};

// The MAIL/RCPT line for the upstream, keeping only parameters it can honour.
std::string upstream_line(const CommandLine& c, const UpstreamCapabilities& caps) {
  std::string line = c.verb == Verb::mail ? "MAIL FROM:<" : "RCPT TO:<";
  line += c.path + ">";
  for (const auto& [k, v] : c.params) {
    bool keep = (k == "SIZE" && caps.size) || (k == "BODY" && caps.eightbitmime) ||
                (k == "SMTPUTF8" && caps.smtputf8) ||
                ((k == "RET" || k == "ENVID" || k == "NOTIFY" || k == "ORCPT") && caps.dsn);
    if (keep) line += " " + k + (v.empty() ? "" : "=" + v);
  }
  return line;
}

// Whose outcome an upstream reply is: decides the recorded action and the domain counted.
enum class ReplyConcerns {
  recipient,     // RCPT/MAIL, or DATA end with one recipient: the class's configured action
  message,       // DATA end with several recipients: recorded for each, suppresses none
  sending_side,  // connect/EHLO/STARTTLS/AUTH: recorded, counted under no recipient domain
};

}  // namespace

class ClientSession {
 public:
  ClientSession(RelayRuntime& rt, tcp::socket s)
      : rt_(rt),
        cfg_(rt.cfg),
        store_(rt.store),
        pool_(rt.pool),
        async_redis_(rt.async_redis),
        io_(std::make_shared<ClientIo>(std::move(s))),
        writes_(rt.writer, rt.io.get_executor()),
        state_(cfg_->relay.max_recipients, cfg_->relay.max_message_size) {
    char buf[32];
    snprintf(buf, sizeof buf, "R%06llX", static_cast<unsigned long long>(++rt_.session_counter));
    id_ = buf;
    rt_.live.insert(this);
  }
  ~ClientSession() { rt_.live.erase(this); }

  awaitable<void> run();
  void force_close();

 private:
  const std::string& log_id() const { return queue_id_.empty() ? id_ : queue_id_; }
  EventContext context() const { return {queue_id_, message_id_, Source::relay, ""}; }

  void reply(const SmtpReplyText& r) { out_ += r.line() + "\r\n"; }
  void reply(const Reply& r) { out_ += r.raw() + "\r\n"; }
  awaitable<bool> flush();
  awaitable<bool> fill();
  // One read into chunk_ (replies still waiting go out first); 0 when the client is gone or
  // timed out (it then heard 421).
  awaitable<size_t> read_chunk();
  struct ClientLine {
    std::string text;
    bool too_long = false, bare_lf = false;
  };
  awaitable<std::optional<ClientLine>> read_line();

  awaitable<void> on_ehlo(const CommandLine& c);
  awaitable<void> on_mail(const CommandLine& c);
  awaitable<void> on_rcpt(const CommandLine& c);
  awaitable<void> on_data();
  // Acquires a connection and sends MAIL; with PIPELINING, MAIL and this first RCPT go in one
  // write (RFC 2920) and the RCPT's reply (or failure) comes back in `first`.
  struct FirstRcpt {
    std::optional<Reply> reply;
    std::optional<UpstreamError> failure;
  };
  awaitable<bool> open_upstream_transaction(const std::string& rcpt, const CommandLine& c,
                                            FirstRcpt& first);
  awaitable<void> upstream_failed(const UpstreamError& e, const std::string& rcpt);
  awaitable<void> learn(const std::string& rcpt, SmtpCommand cmd, const Reply& r,
                        ReplyConcerns concerns);
  // learn() in two halves: what a reply means, applied at once (its metric, a throttle pause
  // for new transactions), and the record of it handed to the writer (or written here when
  // the writer's queue is full).
  struct Understood {
    Learned learned;
    Millis share_pause{0};
    std::string line;  // the outcome's log line
  };
  Understood understand(const std::string& rcpt, SmtpCommand cmd, const Reply& r,
                        ReplyConcerns concerns);
  awaitable<void> keep(const Understood& u);
  void upstream_closed_channel();
  awaitable<void> end_transaction();
  awaitable<bool> take_rate_token();
  // The gate script's round trip on the io thread (AsyncRedis); throws StoreError.
  awaitable<GateDecision> gate_here(const std::string& rcpt);

  RelayRuntime& rt_;
  std::shared_ptr<const Config> cfg_;
  std::shared_ptr<SuppressionStore> store_;
  std::shared_ptr<UpstreamPool> pool_;
  std::shared_ptr<AsyncRedis> async_redis_;
  std::shared_ptr<ClientIo> io_;
  SessionWrites writes_;
  SessionState state_;
  std::string id_, queue_id_, message_id_;
  std::string sender_list_;     // unsubscribe list of this transaction's sender ("" for none)
  std::string bypass_;          // its sender policy's classes that pass (core/policy.hpp)
  bool token_taken_ = false;    // this transaction holds a relay.rate_limit token
  bool data_end_sent_ = false;  // the upstream may have the whole message (the token is spent)
  std::string in_, out_;
  // What one read takes from the client. A member, not in read_chunk()'s coroutine frame: that
  // frame would be allocated and freed for every read (every segment of a message body).
  static constexpr size_t kReadChunk = 16384;
  std::unique_ptr<char[]> chunk_;
  std::unique_ptr<UpstreamConnection> up_;
  // The upstream cannot take this transaction: every further RCPT gets this answer.
  std::optional<SmtpReplyText> up_refusal_;
  std::optional<Reply> up_mail_refused_;
  bool closing_ = false;
};

void force_close(ClientSession* s) {
  s->force_close();
}

void ClientSession::force_close() {
  // Best effort without blocking: the drain bound is over.
  std::string bye = relay_refusal_reply(RelayRefusal::shutting_down).line() + "\r\n";
  boost::system::error_code ec;
  io_->socket.non_blocking(true, ec);
  io_->socket.write_some(asio::buffer(bye), ec);
  io_->close();
}

awaitable<bool> ClientSession::flush() {
  if (out_.empty()) co_return true;
  boost::system::error_code ec;
  arm_deadline(io_, cfg_->relay.client_timeout);
  co_await asio::async_write(io_->socket, asio::buffer(out_),
                             asio::redirect_error(use_awaitable, ec));
  disarm_deadline(io_);
  out_.clear();
  co_return !ec;
}

awaitable<bool> ClientSession::fill() {
  const size_t n = co_await read_chunk();
  if (n == 0) co_return false;
  in_.append(chunk_.get(), n);
  co_return true;
}

awaitable<size_t> ClientSession::read_chunk() {
  // RFC 2920: replies to a pipelined group go out once the client waits for them.
  if (!out_.empty() && !co_await flush()) co_return 0;
  if (!chunk_) chunk_ = std::make_unique_for_overwrite<char[]>(kReadChunk);
  boost::system::error_code ec;
  arm_deadline(io_, cfg_->relay.client_timeout);
  size_t n = co_await io_->socket.async_read_some(asio::buffer(chunk_.get(), kReadChunk),
                                                  asio::redirect_error(use_awaitable, ec));
  disarm_deadline(io_);
  if (ec) {
    if (io_->timed_out) {
      // RFC 5321 4.5.3.2: a server that gives up on a silent client says so (421) first.
      log_event(LogLevel::info, log_id(), "client timed out");
      std::string bye = relay_refusal_reply(RelayRefusal::timeout).line() + "\r\n";
      boost::system::error_code ignored;
      io_->socket.non_blocking(true, ignored);
      io_->socket.write_some(asio::buffer(bye), ignored);
    }
    co_return 0;
  }
  co_return n;
}

awaitable<std::optional<ClientSession::ClientLine>> ClientSession::read_line() {
  CommandLineReader reader;
  for (;;) {
    size_t used = reader.feed(in_);
    in_.erase(0, used);
    if (reader.ready()) {
      ClientLine l;
      l.too_long = reader.too_long();
      l.bare_lf = reader.bare_lf();
      l.text = reader.take();
      co_return l;
    }
    if (!co_await fill()) co_return std::nullopt;
  }
}

awaitable<void> ClientSession::run() {
  boost::system::error_code ec;
  auto remote = io_->socket.remote_endpoint(ec);
  std::string ip = ec ? "unknown" : remote.address().to_string();
  if (!rt_.access->allows(ip)) {
    log_event(LogLevel::warning, id_, "client refused: not in relay.allow", {{"client", ip}});
    reply(relay_refusal_reply(RelayRefusal::client_not_allowed));
    co_await flush();
    co_return;
  }
  if (rt_.sessions >= cfg_->relay.max_sessions || rt_.draining) {
    log_event(LogLevel::warning, id_, "client refused",
              {{"client", ip}, {"reason", rt_.draining ? "draining" : "max_sessions"}});
    reply(relay_refusal_reply(rt_.draining ? RelayRefusal::shutting_down
                                           : RelayRefusal::too_many_sessions));
    co_await flush();
    co_return;
  }
  ++rt_.sessions;
  Metrics::instance().inc("bouncegate_relay_sessions_total");
  Metrics::instance().set_gauge("bouncegate_relay_sessions_active", rt_.sessions);
  struct Count {
    int& n;
    ~Count() {
      --n;
      Metrics::instance().set_gauge("bouncegate_relay_sessions_active", n);
    }
  } count{rt_.sessions};
  log_event(LogLevel::debug, id_, "connect", {{"client", ip}});
  std::string name = cfg_->relay.hostname.empty() ? host_name() : cfg_->relay.hostname;
  reply(SmtpReplyText{"220", "", name + " ESMTP bouncegate"});
  while (!closing_) {
    auto line = co_await read_line();
    if (!line) break;
    if (line->too_long) {
      reply(relay_refusal_reply(RelayRefusal::line_too_long));
      continue;
    }
    if (line->bare_lf && cfg_->relay.bare_newline == BareNewline::reject) {
      log_event(LogLevel::notice, log_id(), "command refused: bare LF");
      reply(relay_refusal_reply(RelayRefusal::bare_newline_command));
      continue;
    }
    CommandLine c = parse_command_line(line->text);
    if (rt_.draining && !state_.in_mail() && c.verb != Verb::quit) {
      reply(relay_refusal_reply(RelayRefusal::shutting_down));
      break;
    }
    if (auto local = state_.check(c)) {
      reply(*local);
      continue;
    }
    switch (c.verb) {
      case Verb::helo:
      case Verb::ehlo:
        co_await on_ehlo(c);
        break;
      case Verb::xforward:
        // Postfix's queue id leads every log line and is stored with each outcome.
        if (auto ident = c.param("IDENT");
            ident && !ident->empty() && ident->size() < 64 && *ident != "[UNAVAILABLE]")
          queue_id_ = *ident;
        reply(SmtpReplyText{"250", "2.0.0", "Ok"});
        break;
      case Verb::mail:
        co_await on_mail(c);
        break;
      case Verb::rcpt:
        co_await on_rcpt(c);
        break;
      case Verb::data:
        co_await on_data();
        break;
      case Verb::rset:
        co_await end_transaction();
        reply(SmtpReplyText{"250", "2.0.0", "Ok"});
        break;
      case Verb::noop:
        reply(SmtpReplyText{"250", "2.0.0", "Ok"});
        break;
      case Verb::quit:
        reply(SmtpReplyText{"221", "2.0.0", "Bye"});
        closing_ = true;
        break;
      default:
        reply(SmtpReplyText{"502", "5.5.1", "command not implemented"});
        break;
    }
  }
  // The last reply (221) goes out before the upstream connection's RSET and the wait below.
  co_await flush();
  co_await end_transaction();
  // Closing tells the client that everything this session learned is in Redis or the
  // journal (tests and a drain rely on it); the replies themselves did not wait for it.
  co_await writes_.written();
  // close() alone sends the FIN; a shutdown() first only fails with ENOTCONN when the client
  // has already gone, one more syscall per session.
  io_->close();
}

awaitable<void> ClientSession::on_ehlo(const CommandLine& c) {
  co_await end_transaction();
  state_.greeted();
  std::string name = cfg_->relay.hostname.empty() ? host_name() : cfg_->relay.hostname;
  if (c.verb == Verb::helo) {
    reply(SmtpReplyText{"250", "", name});
    co_return;
  }
  // What the upstream offers decides what may be promised; learn it once if still unknown.
  if (!pool_->capabilities().known) {
    try {
      auto conn = co_await pool_->acquire();
      co_await pool_->release(std::move(conn));
    } catch (const UpstreamError& e) {
      log_event(LogLevel::warning, id_, "upstream not reachable for EHLO capabilities",
                {{"upstream", pool_->config().host}, {"error", e.what()}});
    }
  }
  const UpstreamCapabilities& caps = pool_->capabilities();
  uint64_t size = cfg_->relay.max_message_size;
  if (caps.size_limit && caps.size_limit < size) size = caps.size_limit;
  std::vector<std::string> lines = {name, "PIPELINING", "SIZE " + std::to_string(size),
                                    "ENHANCEDSTATUSCODES"};
  if (caps.eightbitmime) lines.push_back("8BITMIME");
  if (caps.smtputf8) lines.push_back("SMTPUTF8");
  if (caps.dsn) lines.push_back("DSN");
  lines.push_back("XFORWARD NAME ADDR PROTO HELO IDENT");
  for (size_t i = 0; i < lines.size(); ++i)
    out_ += std::string("250") + (i + 1 < lines.size() ? "-" : " ") + lines[i] + "\r\n";
}

awaitable<void> ClientSession::on_mail(const CommandLine& c) {
  if (std::chrono::steady_clock::now() < rt_.paused_until) {
    log_event(LogLevel::notice, log_id(), "MAIL deferred: upstream asked to slow down");
    reply(upstream_failure_reply(UpstreamFault::throttled, "upstream throttling"));
    co_return;
  }
  state_.mail_started(c);
  // The sender's unsubscribe list, as the milter finds it (canonical sender, same globs).
  sender_list_.clear();
  if (auto from = normalize_address(c.path))
    if (const auto* l = list_for_sender(cfg_->unsubscribe, from->address)) sender_list_ = l->id;
  {
    auto from = normalize_address(c.path);
    bypass_ = gate_bypass(policy_for(
        cfg_->policies, from ? policy_sender(c.path, from->address) : std::string(), sender_list_));
  }
  reply(SmtpReplyText{"250", "2.1.0", "Ok"});
}

awaitable<void> ClientSession::upstream_failed(const UpstreamError& e, const std::string& rcpt) {
  SmtpReplyText r = upstream_failure_reply(e.fault, e.reply ? e.reply->one_line() : "");
  Metrics::instance().inc("bouncegate_relay_upstream_failures_total",
                          {{"reply", r.code + " " + r.enhanced}});
  if (e.fault == UpstreamFault::auth_failed)
    Metrics::instance().inc("bouncegate_relay_upstream_auth_failures_total");
  log_event(
      e.fault == UpstreamFault::auth_failed ? LogLevel::error : LogLevel::warning, log_id(),
      e.fault == UpstreamFault::auth_failed ? "UPSTREAM AUTHENTICATION FAILED" : "upstream failure",
      {{"upstream", pool_->config().host + ":" + std::to_string(pool_->config().port)},
       {"error", e.what()},
       {"reply", r.line()}});
  // Replies to connect/EHLO/STARTTLS/AUTH are about the sending side, never the recipient:
  // recorded once, for the recipient that was being tried, outside its domain's counters.
  if (e.reply) co_await learn(rcpt, e.command, *e.reply, ReplyConcerns::sending_side);
  up_.reset();
  up_refusal_ = r;
  reply(r);
  if (r.code == "421") closing_ = true;
}

awaitable<bool> ClientSession::open_upstream_transaction(const std::string& rcpt,
                                                         const CommandLine& c, FirstRcpt& first) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<UpstreamError> failure;
    try {
      up_ = co_await pool_->acquire();
      const UpstreamCapabilities& caps = up_->capabilities();
      const std::string mail = upstream_line(state_.txn().mail, caps);
      const Millis timeout = cfg_->relay.upstream.command_timeout;
      Reply r;
      if (caps.pipelining) {
        auto both = co_await up_->command_pair(mail, upstream_line(c, caps), timeout);
        r = both.first;
        if (r.positive()) {
          first.reply = both.second;
          first.failure = both.second_error;
          co_return true;
        }
        // MAIL refused: the RCPT's answer (503 and the like) only follows from that.
      } else {
        r = co_await up_->command(mail, timeout);
        if (r.positive()) co_return true;
      }
      // RFC 5321 3.8: a 421 on a connection that sat in the pool is the server closing an
      // idle channel, not an answer about this sender: one fresh try, nothing learned.
      if (r.code == 421 && up_->reused && attempt == 0) {
        log_event(LogLevel::info, log_id(), "pooled upstream connection closed by the server",
                  {{"reply", r.one_line()}});
        up_->close();
        up_.reset();
        continue;
      }
      up_mail_refused_ = r;
      co_return false;
    } catch (const UpstreamError& e) {
      failure = e;
    }
    // A pooled connection may have been closed by the server meanwhile: one fresh try.
    if (up_ && up_->reused && attempt == 0) {
      up_.reset();
      continue;
    }
    co_await upstream_failed(*failure, rcpt);
    co_return false;
  }
  co_return false;
}

awaitable<GateDecision> ClientSession::gate_here(const std::string& rcpt) {
  const bool shadow = cfg_->relay.shadow;
  store_->count_filter_ask();
  auto started = std::chrono::steady_clock::now();
  auto& metrics = Metrics::instance();
  try {
    GateDecision d;
    // Most recipients have no entry: a plain EXISTS says so, and the script is not run.
    const std::vector<std::string> pre = store_->gate_precheck_command(rcpt, sender_list_);
    if (pre.empty() || SuppressionStore::precheck_clean(co_await async_redis_->command(pre))) {
      d = store_->clean_pass();
    } else {
      RedisValue v = co_await async_redis_->command(
          store_->gate_command(rcpt, sender_list_, context(), shadow, bypass_, false));
      if (v.type == RedisValue::error && v.str.rfind("NOSCRIPT", 0) == 0)
        // After a Redis restart or SCRIPT FLUSH: EVAL loads the script again.
        v = co_await async_redis_->command(
            store_->gate_command(rcpt, sender_list_, context(), shadow, bypass_, true));
      d = store_->gate_decision(rcpt, shadow, v);
    }
    metrics.observe(
        "bouncegate_store_call_seconds",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
        {{"op", "gate"}});
    co_return d;
  } catch (const StoreError&) {
    metrics.inc("bouncegate_store_errors_total", {{"op", "gate"}});
    throw;
  }
}

// relay.rate_limit: one token per message that goes upstream, taken when the first recipient
// is about to be sent (a message whose recipients were all refused by the gate spends none),
// given back when the upstream never got the message's end (refused MAIL, every recipient
// refused, a DATA refusal). False when the client was answered (no token, or the store down
// with on_store_error tempfail).
awaitable<bool> ClientSession::take_rate_token() {
  const RelayConfig& rc = cfg_->relay;
  if (token_taken_ || (rc.rate_per_minute <= 0 && rc.rate_per_hour <= 0)) co_return true;
  bool ok = false;
  try {
    auto store = store_;
    auto take = [store, m = rc.rate_per_minute, h = rc.rate_per_hour] {
      return store->take_send_token("relay", m, h);
    };
    ok = co_await rt_.offload(take);
  } catch (const std::exception& e) {
    StoreFailureVerdict v = store_failure_verdict(rc.on_store_error, false);
    log_event(LogLevel::error, log_id(), "rate limit check failed",
              {{"error", e.what()}, {"on_store_error", std::string(v.mode)}});
    if (v.refuse) {
      reply(v.reply);
      co_return false;
    }
    co_return true;
  }
  if (!ok) {
    log_event(LogLevel::notice, log_id(), "RCPT deferred: relay.rate_limit reached");
    reply(upstream_failure_reply(UpstreamFault::throttled));
    co_return false;
  }
  token_taken_ = true;
  co_return true;
}

awaitable<void> ClientSession::on_rcpt(const CommandLine& c) {
  state_.rcpt_seen();
  std::string why;
  auto addr = normalize_address(c.path, &why);
  if (!addr) {
    // Never forwarded ungated on a guess (suppression.on_bad_address); accept forwards it as
    // sent and lets the upstream judge its syntax.
    auto r = cfg_->relay.gate ? bad_address_reply(cfg_->suppression, why) : std::nullopt;
    log_event(LogLevel::warning, log_id(), "rcpt=" + log_quote(c.path) + " not understood",
              {{"decision", r ? r->code : std::string("accept")}, {"reason", why}});
    if (r) {
      reply(*r);
      co_return;
    }
  }
  const std::string rcpt = addr ? addr->address : c.path;
  if (cfg_->relay.gate && addr) {
    // What this session learned is in Redis before it gates again: a recipient an earlier
    // reply suppressed is refused by the same session (no-op when nothing is pending). Only
    // records that can change a gate answer are waited for, not the deliveries.
    co_await writes_.gate_inputs_written();
    GateDecision d;
    try {
      // gate.local_filter: a recipient surely without any entry passes here, on the io
      // thread, without a round trip. Otherwise the gate script decides, as the milter's
      // does (unsubscribes included; shadow mode as a dry run), on the io thread's own
      // Redis connection (gate_here).
      if (!store_->surely_clean(rcpt)) d = co_await gate_here(rcpt);
    } catch (const std::exception& e) {
      StoreFailureVerdict v = store_failure_verdict(cfg_->relay.on_store_error, cfg_->relay.shadow);
      log_event(LogLevel::error, log_id(), "suppression store unavailable",
                {{"error", e.what()}, {"on_store_error", std::string(v.mode)}});
      if (v.refuse) {
        reply(v.reply);
        co_return;
      }
      d = GateDecision{};  // forwarded ungated
    }
    if (d.result != GateResult::pass) {
      SmtpReplyText r = gate_reply(store_->config(), d, rcpt);
      int64_t ttl = d.entry ? d.entry->ttl_ms : -1;
      const bool shadow = cfg_->relay.shadow;
      std::string cls = d.result == GateResult::unsubscribed ? "unsubscribe"
                        : d.entry                            ? std::string(to_string(d.entry->cls))
                                                             : "";
      log_event(LogLevel::info, log_id(),
                "to=<" + rcpt + ">, gate=" + (shadow ? "would-" : "") +
                    std::string(to_string(d.result)) + ", reply=" + log_quote(r.line()) +
                    ", class=" + cls + ", lease=" + lease_text(ttl));
      if (!shadow) {
        reply(r);
        co_return;
      }
      // Shadow: the recipient goes upstream as if it were clean. No header is added: the
      // message may leave for other recipients, who must not read about this one.
    }
  }
  if (up_refusal_) {
    reply(*up_refusal_);
    co_return;
  }
  FirstRcpt first;  // this RCPT's reply when it went with MAIL (PIPELINING)
  if (!up_ && !up_mail_refused_) {
    if (!co_await take_rate_token()) co_return;
    if (!co_await open_upstream_transaction(rcpt, c, first) && !up_mail_refused_) co_return;
  }
  if (up_mail_refused_) {
    // The upstream refused the sender: each recipient hears why, and it is learned as MAIL's.
    co_await learn(rcpt, SmtpCommand::mail, *up_mail_refused_, ReplyConcerns::recipient);
    reply(*up_mail_refused_);
    if (up_mail_refused_->code == 421) upstream_closed_channel();
    co_return;
  }
  Reply r;
  std::optional<UpstreamError> failure = first.failure;
  if (first.reply) {
    r = *first.reply;
  } else if (!failure) {
    try {
      r = co_await up_->command(upstream_line(c, up_->capabilities()),
                                cfg_->relay.upstream.command_timeout);
    } catch (const UpstreamError& e) {
      failure = e;
    }
  }
  if (failure) {
    co_await upstream_failed(*failure, rcpt);
    co_return;
  }
  if (r.positive()) {
    state_.rcpt_accepted(rcpt);
  } else {
    co_await learn(rcpt, SmtpCommand::rcpt, r, ReplyConcerns::recipient);
  }
  reply(r);
  if (r.code == 421) upstream_closed_channel();
}

awaitable<void> ClientSession::on_data() {
  const UpstreamConfig& uc = cfg_->relay.upstream;
  const auto recipients = state_.txn().accepted;
  // A DATA-end failure speaks of the message; with several recipients it is nobody's in
  // particular, so it is recorded for each but suppresses none.
  const ReplyConcerns concerns =
      recipients.size() > 1 ? ReplyConcerns::message : ReplyConcerns::recipient;
  if (!up_) {
    // The upstream connection failed after some recipients were accepted (a later RCPT lost
    // it): the transaction cannot go on; the client hears that failure again, never 354.
    reply(up_refusal_ ? *up_refusal_ : upstream_failure_reply(UpstreamFault::lost_during_data));
    co_await end_transaction();
    co_return;
  }
  Reply go;
  std::optional<UpstreamError> failure;
  try {
    go = co_await up_->command("DATA", uc.command_timeout);
  } catch (const UpstreamError& e) {
    failure = e;
  }
  if (failure) {
    log_event(LogLevel::warning, log_id(), "upstream failure at DATA",
              {{"error", failure->what()}});
    up_.reset();
    reply(upstream_failure_reply(failure->fault));
    co_await end_transaction();
    co_return;
  }
  if (go.code != 354) {
    for (const auto& rcpt : recipients) co_await learn(rcpt, SmtpCommand::data, go, concerns);
    reply(go);
    if (go.code == 421) upstream_closed_channel();
    co_await end_transaction();
    co_return;
  }
  if (!up_->healthy()) {
    // More than the 354 arrived (a reply to nothing): whatever comes after the final dot
    // could be read from that surplus, so this connection cannot carry the message.
    log_event(LogLevel::warning, log_id(), "upstream sent replies to no command at DATA");
    up_->close();
    up_.reset();
    reply(upstream_failure_reply(UpstreamFault::protocol_error));
    co_await end_transaction();
    co_return;
  }
  reply(go);
  MessageStream msg(cfg_->relay.max_message_size, cfg_->relay.bare_newline);
  bool upstream_ok = true;
  std::string upstream_error, wire, tail;
  while (!msg.done()) {
    // What the client sent: bytes left over from the command reads, else a fresh read,
    // looked at where it landed (no copy into in_).
    std::string_view got = in_;
    const bool fresh = in_.empty();
    if (fresh) {
      const size_t n = co_await read_chunk();
      if (n == 0) {
        // The client went away mid-message: the upstream must not see an end of data.
        log_event(LogLevel::warning, log_id(), "client lost during DATA");
        up_.reset();
        closing_ = true;
        co_return;
      }
      got = std::string_view(chunk_.get(), n);
    }
    // Whole lines that go upstream as they came are sent from that buffer; what needs a
    // decision (the line the read began in, the header section, a leading dot, the end, a
    // limit) goes through feed() into `wire` (before them) and `tail` (after them).
    wire.clear();
    tail.clear();
    const MessageStream::Taken t = msg.take(got, wire, tail);
    const size_t n = t.used;
    // A broken limit abandons the upstream at once (no final dot ever reaches it); the rest of
    // the message is read and dropped so the client's next command is found.
    if (msg.failed() && up_) up_.reset();
    if (!msg.failed() && upstream_ok && (t.verbatim > 0 || !wire.empty() || !tail.empty())) {
      try {
        const std::array<std::string_view, 3> parts = {wire, got.substr(t.head_used, t.verbatim),
                                                       tail};
        co_await up_->write_raw(parts, uc.data_timeout);
      } catch (const UpstreamError& e) {
        upstream_ok = false;
        upstream_error = e.what();
      }
    }
    // What follows the end of data (pipelined commands) stays for the command reader.
    if (fresh)
      in_.assign(got.substr(n));
    else
      in_.erase(0, n);
  }
  message_id_ = msg.message_id();
  // From here the upstream may have the whole message: its token is spent.
  if (!msg.failed() && upstream_ok) data_end_sent_ = true;
  if (msg.failed()) {
    up_.reset();  // closing without the final dot is the only way to abandon DATA
    RelayRefusal why = msg.bare_newline() ? RelayRefusal::bare_newline_data
                       : msg.too_big()    ? RelayRefusal::message_too_big
                                          : RelayRefusal::line_too_long;
    const char* reason = msg.bare_newline() ? "bare CR or LF"
                         : msg.too_big()    ? "size"
                                            : "line length";
    log_event(LogLevel::notice, log_id(), "message refused",
              {{"reason", reason}, {"size", std::to_string(msg.size())}});
    reply(relay_refusal_reply(why));
    co_await end_transaction();
    co_return;
  }
  Reply done;
  if (upstream_ok) {
    try {
      done = co_await up_->read_reply(uc.data_timeout);
    } catch (const UpstreamError& e) {
      upstream_ok = false;
      upstream_error = e.what();
    }
  }
  if (!upstream_ok) {
    up_.reset();
    SmtpReplyText r = upstream_failure_reply(UpstreamFault::lost_during_data);
    for (const auto& rcpt : recipients)
      log_event(LogLevel::warning, log_id(),
                "to=<" + rcpt + ">, upstream=" + uc.host + ":" + std::to_string(uc.port) +
                    ", reply=" + log_quote(r.line()) + ", status=deferred",
                {{"error", upstream_error}});
    reply(r);
    co_await end_transaction();
    co_return;
  }
  // What the reply means holds from now (a throttle pauses the next MAIL of every session);
  // the records of it are handed to the writer after the reply has gone.
  std::vector<Understood> learned;
  learned.reserve(recipients.size());
  for (const auto& rcpt : recipients)
    learned.push_back(understand(rcpt, SmtpCommand::data_end, done, concerns));
  reply(done);
  // The end of data is a synchronisation point (RFC 2920): the client waits for this reply,
  // so it goes out now, ahead of handing the records to the writer (waking its thread), the
  // upstream RSET and the records still being written. Nothing is read from the client
  // before they are queued.
  co_await flush();
  for (const auto& u : learned) co_await keep(u);
  if (!message_id_.empty() && done.positive()) {
    // Later feedback about this message is trusted only for its recipients.
    MessageNote note{
        message_id_,
        {{"queue_id", queue_id_.empty() ? id_ : queue_id_}, {"sender", state_.txn().mail.path}},
        recipients};
    if (!writes_.remember(note, log_id())) {
      try {
        auto store = store_;
        auto remember = [store, &note] {
          store->remember_message(note.message_id, note.fields, note.recipients);
          return true;
        };
        co_await rt_.offload(remember);
      } catch (const std::exception& e) {
        log_event(LogLevel::warning, log_id(), "message id not stored", {{"error", e.what()}});
      }
    }
  }
  if (done.code == 421) upstream_closed_channel();
  co_await end_transaction();
}

awaitable<void> ClientSession::learn(const std::string& rcpt, SmtpCommand cmd, const Reply& r,
                                     ReplyConcerns concerns) {
  co_await keep(understand(rcpt, cmd, r, concerns));
}

ClientSession::Understood ClientSession::understand(const std::string& rcpt, SmtpCommand cmd,
                                                    const Reply& r, ReplyConcerns concerns) {
  Understood u;
  u.learned = learn_from_reply(*cfg_, rcpt, cmd, r, context());
  OutcomeRecord& rec = u.learned.record;
  rec.counts_for_domain = concerns != ReplyConcerns::sending_side;
  // Evidence for a support case: who sent, and which server answered.
  rec.sender = state_.txn().mail.path;
  rec.remote_mta = cfg_->relay.upstream.host;
  assign_record_id(rec);  // a timed-out write applied late plus its replay count once
  // When it happened, not when the writer sends it (a backlog after an outage).
  rec.occurred_ms = now_ms();
  auto& metrics = Metrics::instance();
  metrics.inc("bouncegate_relay_upstream_replies_total",
              {{"code_class", r.code ? std::to_string(r.code / 100) + "xx" : "none"},
               {"class", std::string(to_string(rec.cls))},
               {"domain", rec.counts_for_domain ? metrics.domain_label(domain_of(rcpt)) : "-"}});
  if (concerns != ReplyConcerns::recipient) downgrade_to_record(rec);
  if (rec.cls == OutcomeClass::rate_limit && cfg_->relay.throttle_pause.count() > 0) {
    rt_.paused_until = std::chrono::steady_clock::now() + cfg_->relay.throttle_pause;
    log_event(LogLevel::notice, log_id(), "upstream throttling: new transactions paused",
              {{"for", format_duration(cfg_->relay.throttle_pause)}});
  }
  // A throttle pauses the whole fleet: every relay reads the shared pause (RelayServer).
  u.share_pause = rec.cls == OutcomeClass::rate_limit ? cfg_->relay.throttle_pause : Millis(0);
  const UpstreamConfig& uc = cfg_->relay.upstream;
  u.line = "to=<" + rcpt + ">, upstream=" + uc.host + ":" + std::to_string(uc.port) +
           ", reply=" + log_quote(r.one_line()) + ", class=" + std::string(to_string(rec.cls)) +
           ", action=" + std::string(to_string(rec.action));
  // gate.local_filter: this session's next RCPT for it asks Redis, not the filter.
  if (may_change_gate(cfg_->suppression, rec)) store_->note_entry_coming(rec.address);
  return u;
}

awaitable<void> ClientSession::keep(const Understood& u) {
  const OutcomeRecord& rec = u.learned.record;
  // Off the reply path: the writer sends it with everything else queued in one round trip.
  const bool changes_gate = may_change_gate(cfg_->suppression, rec);
  if (writes_.record(rec, changes_gate, u.share_pause, log_id(), u.line)) co_return;
  // Its queue is full (Redis slow or down): this session writes the record itself.
  RecordResult entry;
  std::string error;
  try {
    auto store = store_;
    auto record = [store, rec, share = u.share_pause] {
      try {
        store->share_pause(share);
      } catch (const StoreError&) {
        // The local pause holds; the outcome below goes to the journal if Redis is down.
      }
      return store->record_or_journal(rec);
    };
    entry = co_await rt_.offload(record);
  } catch (const std::exception& e) {
    error = e.what();
  }
  log_written_outcome(log_id(), rec.address, u.line, entry, error);
}

// RFC 5321 3.8: an upstream 421 means it has closed that channel. The connection is never
// pooled again, and the 421 the client has just been given ends the client session too, as
// the client (Postfix) expects after a 421.
void ClientSession::upstream_closed_channel() {
  if (up_) up_->close();
  up_.reset();
  closing_ = true;
}

awaitable<void> ClientSession::end_transaction() {
  if (token_taken_ && !data_end_sent_) {
    // The upstream never received this message: its rate-limit token goes back.
    try {
      auto store = store_;
      auto give = [store] {
        store->refund_send_token("relay");
        return true;
      };
      co_await rt_.offload(give);
    } catch (const std::exception& e) {
      log_event(LogLevel::warning, log_id(), "rate limit refund failed", {{"error", e.what()}});
    }
  }
  token_taken_ = false;
  data_end_sent_ = false;
  // Back to the pool after an RSET even when the transaction was complete: its round trip is
  // what exposes a server that answers late to commands never sent (surplus replies after
  // the end of data, RelayPromise.NoFalse250UnderInterleavingRefusalsAndSurplusReplies), so a
  // connection out of step is never handed to the next transaction.
  if (up_) co_await pool_->release(std::move(up_));
  up_.reset();
  up_refusal_.reset();
  up_mail_refused_.reset();
  message_id_.clear();
  // XFORWARD attributes hold for one transaction: a later one without IDENT must not be
  // logged or stored under this queue id.
  queue_id_.clear();
  state_.reset();
}

awaitable<void> run_client_session(RelayRuntime& rt, tcp::socket socket) {
  ClientSession s(rt, std::move(socket));
  co_await s.run();
}

}  // namespace bouncegate
