// The upstream side of the relay: one SMTP client connection (connect, STARTTLS or implicit
// TLS with verification and SNI, EHLO, AUTH PLAIN/LOGIN) and the pool that reuses them.
#pragma once

// clang-format off
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format on

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "core/config.hpp"
#include "core/outcome.hpp"
#include "core/received_reply.hpp"
#include "core/reply_policy.hpp"
#include "relay/capabilities.hpp"

namespace bouncegate {

namespace asio = boost::asio;

// What went wrong with the upstream: the fault decides the reply to the client; `reply` is
// the upstream's own answer when there was one, `command` the command that drew it.
struct UpstreamError : std::runtime_error {
  UpstreamError(UpstreamFault f, std::string what, SmtpCommand cmd = SmtpCommand::any,
                std::optional<Reply> r = std::nullopt)
      : std::runtime_error(std::move(what)), fault(f), command(cmd), reply(std::move(r)) {}
  UpstreamFault fault;
  SmtpCommand command;
  std::optional<Reply> reply;
};

class UpstreamConnection {
 public:
  UpstreamConnection(asio::any_io_executor ex, asio::ssl::context& tls, const UpstreamConfig& cfg);
  ~UpstreamConnection();

  // Connects and gets the session ready for MAIL. Throws UpstreamError.
  asio::awaitable<void> open();
  // Sends one command line (CRLF added) and reads the reply. Throws UpstreamError on I/O
  // trouble (lost_during_data is not used here: the caller knows the phase).
  // Replies are matched to commands one for one (the one pipelined pair is command_pair's),
  // so a byte left over after a reply, or one that arrives before a command is sent, can
  // only be an answer to something this relay never sent (smuggled commands, a confused
  // server). The connection is then out of step: it is marked unhealthy (never pooled again)
  // and every further command on it is refused with protocol_error before it is written.
  asio::awaitable<Reply> command(const std::string& line, Millis timeout);
  // RFC 2920, for a server that offers PIPELINING: two commands in one write (MAIL and the
  // first RCPT). The first reply may be followed by the second's bytes; only what comes
  // after the second reply answers nothing. A failure of the first throws as command() does;
  // one of the second is handed back. After a 421 to the first the second is not read (that
  // server is closing the channel).
  struct PairReplies {
    Reply first;
    std::optional<Reply> second;
    std::optional<UpstreamError> second_error;
  };
  asio::awaitable<PairReplies> command_pair(const std::string& first, const std::string& second,
                                            Millis timeout);
  asio::awaitable<void> write_raw(std::string_view bytes, Millis timeout);
  // The parts in order, in one gathered write (writev; over TLS OpenSSL may copy them).
  asio::awaitable<void> write_raw(std::array<std::string_view, 3> parts, Millis timeout);
  asio::awaitable<Reply> read_reply(Millis timeout);
  // True when the server has sent anything not yet read, or closed the connection: an idle
  // connection that is readable (an idle 421, EOF, surplus replies) cannot be reused.
  bool has_pending_input() const;
  // The end of a transaction in two halves, so that nobody waits for the round trip between
  // them: send_rset() writes RSET; in_step_after_rset() (before the next command) reads its
  // reply and is true only for a 250 with nothing after it, the same check as command("RSET")
  // followed by has_pending_input(). Throws UpstreamError as command() does.
  asio::awaitable<void> send_rset(Millis timeout);
  asio::awaitable<bool> in_step_after_rset(Millis timeout);
  bool rset_unread() const { return rset_unread_; }

  const UpstreamCapabilities& capabilities() const { return caps_; }
  bool healthy() const { return healthy_; }
  // Idle in the pool: no deadline wait stays pending (it would keep the io_context running).
  void set_aside();
  void close();
  std::string label() const;  // host:port, for logs

  bool reused = false;  // taken from the pool (may have been closed by the server meanwhile)
  // The pool's count of open connections and the fleet slot, both released on destruction.
  std::shared_ptr<void> slot;
  std::chrono::steady_clock::time_point idle_since;
  std::string bearer;  // upstream.auth xoauth2: the access token to sign in with

 private:
  asio::awaitable<void> start_tls();
  asio::awaitable<void> authenticate();
  asio::awaitable<Reply> ehlo();
  // `more_expected`: bytes after this reply answer a command already sent (command_pair).
  asio::awaitable<Reply> read_one_reply(Millis timeout, bool more_expected);
  void check_in_step();
  void arm(Millis timeout);
  void disarm();

  UpstreamConfig cfg_;
  struct Io;  // socket, TLS stream and deadline timer, shared with the timer's handler
  std::shared_ptr<Io> io_;
  std::string buf_;  // bytes read beyond the last reply
  // What one read takes (a member: in the reading coroutine's frame it would be allocated
  // for every reply).
  static constexpr size_t kReadChunk = 4096;
  std::unique_ptr<char[]> chunk_;
  UpstreamCapabilities caps_;
  bool healthy_ = false;
  bool ready_ = false;  // open() has finished: from now on an unhealthy connection takes nothing
  bool rset_unread_ = false;  // send_rset() was called; its reply has not been read
};

// A connection cap shared with other relays (relay/fleet_slots.hpp). claim() answers the name
// of the slot taken, "" when the fleet cannot be asked (the local cap alone decides), nullopt
// when every slot is taken; release() gives a named slot back.
class SharedConnectionSlots {
 public:
  virtual ~SharedConnectionSlots() = default;
  virtual int max() const = 0;
  virtual asio::awaitable<std::optional<std::string>> claim() = 0;
  virtual void release(const std::string& slot) = 0;
};

// Where an AUTH XOAUTH2 sign-in gets its access token (relay/upstream_token.hpp). token()
// throws UpstreamError(auth_failed) when there is none; refused() drops one the server refused.
class BearerTokens {
 public:
  virtual ~BearerTokens() = default;
  virtual asio::awaitable<std::string> token() = 0;
  virtual void refused(const std::string& token) = 0;
};

// What the pool asks beyond its own connections; either may be null.
struct UpstreamHooks {
  std::shared_ptr<SharedConnectionSlots> fleet;  // the fleet-wide cap, before a new connection
  std::shared_ptr<BearerTokens> tokens;          // upstream.auth: xoauth2
};

// Authenticated connections kept for the next transaction. Single-threaded: used only from
// the relay's io_context.
class UpstreamPool {
 public:
  UpstreamPool(asio::any_io_executor ex, const UpstreamConfig& cfg, UpstreamHooks hooks = {});
  // A ready connection: an idle one from the pool or a new one. Throws UpstreamError.
  asio::awaitable<std::unique_ptr<UpstreamConnection>> acquire();
  // Back to the pool when healthy and there is room (closed otherwise), with an RSET sent
  // whose reply acquire() reads and checks before it hands the connection out: the session
  // that ends a transaction does not wait for that round trip.
  asio::awaitable<void> release(std::unique_ptr<UpstreamConnection> c);
  void sweep();  // closes connections idle longer than pool_idle
  void clear();
  const UpstreamCapabilities& capabilities() const { return caps_; }
  const UpstreamConfig& config() const { return cfg_; }
  size_t idle() const { return idle_.size(); }

 private:
  asio::any_io_executor ex_;
  UpstreamConfig cfg_;
  asio::ssl::context tls_;
  std::shared_ptr<SharedConnectionSlots> fleet_;
  std::shared_ptr<BearerTokens> tokens_;
  std::deque<std::unique_ptr<UpstreamConnection>> idle_;
  UpstreamCapabilities caps_;
  std::shared_ptr<int> open_ = std::make_shared<int>(0);  // busy and idle connections
};

}  // namespace bouncegate
