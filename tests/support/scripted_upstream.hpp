// A scripted upstream SMTP server for relay tests: STARTTLS or implicit TLS with a test
// certificate, AUTH PLAIN/LOGIN, and replies chosen by the recipient's local part.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace bouncegate::test {

// Behaviour by recipient local part (prefix):
//   bounce-*    RCPT  550 5.1.1 user unknown
//   multi-*     RCPT  550 multi-line reply (5.1.1)
//   throttle-*  RCPT  450 4.5.127 Excessive message rate from sender
//   defer-*     RCPT  451 4.3.0 the first time an address is seen, 250 afterwards
//   blocked-*   DATA end 554 5.7.1 [CS01] Message rejected due to local policy
//   drop-*      the connection is closed in the middle of DATA
//   dropfirst-* like drop-* the first time an address is seen, accepted afterwards
//   stallfirst-* RCPT never answered (until the client hangs up) the first time an address
//               is seen, 250 afterwards
//   hangup-*    RCPT: the connection is closed without a reply
//   shutdata-*  DATA: 421 4.3.2 and the connection is closed
//   shutend-*   end of data: 421 4.3.2 and the connection is closed (message not taken)
//   surplus-*   end of data: 250, then in the same write four replies to no command (what
//               a smuggled second transaction draws: 250, 250, 354, 554)
//   surpluslate-* like surplus-*, the extra replies 200 ms after the 250
//   surplusdata-* DATA: 354 and a premature "250 ... queued" in the same write
// Anything else is accepted. Behaviour by sender local part:
//   shutmail-*  MAIL: 421 4.3.2 and the connection is closed
// MAIL/RCPT parameters of an extension not in ehlo_keywords (SIZE, BODY 8BITMIME, SMTPUTF8,
// RET/ENVID/NOTIFY/ORCPT DSN) get 555 5.5.4, as from a strict server.
struct UpstreamScript {
  std::string greeting = "220 upstream.test ESMTP scripted";  // e.g. "421 4.3.2 busy"
  std::string tls_cert, tls_key;  // PEM files; empty: no STARTTLS offered
  bool implicit_tls = false;
  std::string password;  // non-empty: AUTH required, any user name with this password
  // Non-empty: AUTH required by XOAUTH2 (offered alone) as xoauth2_user, with a bearer token
  // listed in this file as "TOKEN EXPIRY_MS" lines (written by tests/web/token_endpoint.py);
  // a token not listed or past its expiry gets the 334 error challenge, then 535.
  std::string bearer_tokens_file;
  std::string xoauth2_user;
  std::string auth_mechanisms = "PLAIN LOGIN";  // offered after AUTH; others get 504
  std::string capture_dir;                      // non-empty: each accepted message is written there
  int idle_close_ms = 0;  // > 0: a connection idle this long gets 421 4.4.2 and is closed
  int rset_delay_ms = 0;  // > 0: RSET is answered this long after it arrived
  std::vector<std::string> ehlo_keywords = {"PIPELINING", "SIZE 10485760", "8BITMIME",
                                            "SMTPUTF8",   "DSN",           "ENHANCEDSTATUSCODES"};
};

class ScriptedUpstream {
 public:
  // Listens on 127.0.0.1:`port` (0: a free port) until destroyed.
  explicit ScriptedUpstream(UpstreamScript script, int port = 0);
  ~ScriptedUpstream();
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  int port() const { return port_; }
  int connections() const { return connections_; }  // TCP connections accepted
  int messages() const { return messages_; }        // messages accepted at DATA end
  int auth_failures() const { return auth_failures_; }
  // Every command line received, in order, across connections ("AUTH ..." lines masked).
  std::vector<std::string> commands() const;
  // Command lines that arrived in the same write as the one before them (RFC 2920).
  std::vector<std::string> pipelined() const;
  // Blocks (for the standalone server) until stop() is called from elsewhere.
  void wait();
  void stop();

 private:
  void accept_loop();
  void serve(int fd);
  std::string reply_for_rcpt(const std::string& rcpt);
  bool first_time(const std::string& behaviour, const std::string& rcpt);

  UpstreamScript script_;
  int port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0}, messages_{0}, auth_failures_{0};
  mutable std::mutex mu_;
  std::vector<std::string> commands_;
  std::vector<std::string> pipelined_;
  std::set<std::string> deferred_once_;  // addresses seen by a *first-* behaviour
  std::set<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
  void* tls_ctx_ = nullptr;  // SSL_CTX*
};

}  // namespace bouncegate::test
