// Scripted upstream SMTP server: one thread per connection, blocking sockets, OpenSSL for
// STARTTLS; what it answers depends on the recipient's local part (see the header).
#include "tests/support/scripted_upstream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <stdexcept>

#include "tests/support/loopback.hpp"

namespace bouncegate::test {
namespace {

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string buf;
  ~Conn() {
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }
  int idle_close_ms = 0;  // > 0: after this long without a command, 421 and hang up
  bool read_more() {
    if (idle_close_ms > 0 && !(ssl && SSL_pending(ssl) > 0)) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, idle_close_ms) == 0) {
        send("421 4.4.2 upstream.test Error: timeout exceeded");
        return false;
      }
    }
    char tmp[8192];
    int n = ssl ? SSL_read(ssl, tmp, sizeof tmp) : static_cast<int>(::read(fd, tmp, sizeof tmp));
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
    return true;
  }
  bool buffered = false;  // the last line read was already there, behind the one before it
  bool read_line(std::string& line) {
    buffered = !buf.empty();
    for (;;) {
      size_t nl = buf.find('\n');
      if (nl != std::string::npos) {
        line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
      }
      if (!read_more()) return false;
    }
  }
  bool send(const std::string& s) {
    std::string out = s + "\r\n";
    size_t off = 0;
    while (off < out.size()) {
      int n = ssl ? SSL_write(ssl, out.data() + off, static_cast<int>(out.size() - off))
                  : static_cast<int>(::write(fd, out.data() + off, out.size() - off));
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
};

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string unbase64(const std::string& in) {
  std::string out(in.size() * 3 / 4 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return "";
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The token endpoint stand-in's list: is `token` issued and not yet expired?
bool bearer_valid(const std::string& file, const std::string& token) {
  std::ifstream in(file);
  std::string t;
  long long expiry = 0;
  const long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  while (in >> t >> expiry)
    if (same_secret(t, token)) return now < expiry;
  return false;
}

std::string local_part(const std::string& path) {
  std::string p = path;
  size_t lt = p.find('<'), gt = p.find('>');
  if (lt != std::string::npos && gt != std::string::npos) p = p.substr(lt + 1, gt - lt - 1);
  return upper(p.substr(0, p.find('@')));
}

bool starts(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// The first ESMTP parameter on a MAIL/RCPT line whose extension was not advertised ("").
std::string unadvertised_param(const std::string& line, const std::vector<std::string>& ehlo) {
  auto offered = [&](const std::string& kw) {
    for (const auto& k : ehlo)
      if (upper(k) == kw || starts(upper(k), kw + " ")) return true;
    return false;
  };
  std::string rest = line.substr(std::min(line.size(), line.find('>') + 1));
  size_t i = 0;
  while (i < rest.size()) {
    size_t end = rest.find(' ', i);
    std::string word = upper(rest.substr(i, end == std::string::npos ? end : end - i));
    i = end == std::string::npos ? rest.size() : end + 1;
    std::string key = word.substr(0, word.find('='));
    if (key.empty()) continue;
    bool ok = key == "SIZE"       ? offered("SIZE")
              : key == "BODY"     ? offered("8BITMIME")
              : key == "SMTPUTF8" ? offered("SMTPUTF8")
              : (key == "RET" || key == "ENVID" || key == "NOTIFY" || key == "ORCPT")
                  ? offered("DSN")
                  : false;
    if (!ok) return key;
  }
  return "";
}

}  // namespace

ScriptedUpstream::ScriptedUpstream(UpstreamScript script, int port) : script_(std::move(script)) {
  // A client that hangs up while a reply is being written must not kill the test process.
  signal(SIGPIPE, SIG_IGN);
  if (!script_.tls_cert.empty()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ctx, script_.tls_cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, script_.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
      SSL_CTX_free(ctx);
      throw std::runtime_error("scripted upstream: cannot load " + script_.tls_cert);
    }
    tls_ctx_ = ctx;
  }
  // Close-on-exec: a daemon the test starts later must not inherit (and hold) the port.
  listen_fd_ = listen_loopback(port, 128, &port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptedUpstream::~ScriptedUpstream() {
  stop();
  if (tls_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(tls_ctx_));
}

void ScriptedUpstream::stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  close(listen_fd_);
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void ScriptedUpstream::wait() {
  while (!stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

std::vector<std::string> ScriptedUpstream::pipelined() const {
  std::lock_guard lock(mu_);
  return pipelined_;
}

std::vector<std::string> ScriptedUpstream::commands() const {
  std::lock_guard lock(mu_);
  return commands_;
}

void ScriptedUpstream::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    std::lock_guard lock(mu_);
    open_fds_.insert(fd);
    threads_.emplace_back([this, fd] {
      serve(fd);
      std::lock_guard l(mu_);
      open_fds_.erase(fd);
      close(fd);
    });
  }
}

std::string ScriptedUpstream::reply_for_rcpt(const std::string& rcpt) {
  std::string lp = local_part(rcpt);
  if (starts(lp, "BOUNCE-"))
    return "550 5.1.1 " + rcpt + ": Recipient address rejected: User unknown";
  if (starts(lp, "MULTI-"))
    return "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
           "550 5.1.1 Please try double-checking the recipient's email address.";
  if (starts(lp, "THROTTLE-")) return "450 4.5.127 Excessive message rate from sender";
  if (starts(lp, "DEFER-") && first_time("DEFER", rcpt))
    return "451 4.3.0 " + rcpt + ": temporary lookup failure";
  return "250 2.1.5 Ok";
}

bool ScriptedUpstream::first_time(const std::string& behaviour, const std::string& rcpt) {
  std::lock_guard lock(mu_);
  return deferred_once_.insert(behaviour + " " + upper(rcpt)).second;
}

void ScriptedUpstream::serve(int fd) {
  Conn c;
  c.fd = fd;
  auto tls_on = [&]() {
    c.ssl = SSL_new(static_cast<SSL_CTX*>(tls_ctx_));
    SSL_set_fd(c.ssl, fd);
    return SSL_accept(c.ssl) == 1;
  };
  if (script_.implicit_tls && (!tls_ctx_ || !tls_on())) return;
  if (!c.send(script_.greeting) || script_.greeting[0] != '2') return;
  bool authed = script_.password.empty() && script_.bearer_tokens_file.empty();
  c.idle_close_ms = script_.idle_close_ms;
  std::vector<std::string> rcpts;
  std::string sender;
  bool drop = false, blocked = false, shut_data = false, shut_end = false;
  bool surplus = false, surplus_late = false, surplus_data = false;
  std::string line;
  while (!stopping_ && c.read_line(line)) {
    std::string cmd = upper(line.substr(0, line.find(' ')));
    {
      std::lock_guard lock(mu_);
      commands_.push_back(cmd == "AUTH" ? "AUTH ****" : line);
      if (c.buffered) pipelined_.push_back(line);
    }
    if (cmd == "EHLO") {
      std::string r = "250-upstream.test";
      for (const auto& k : script_.ehlo_keywords) r += "\r\n250-" + k;
      if (tls_ctx_ && !c.ssl) r += "\r\n250-STARTTLS";
      if (!script_.bearer_tokens_file.empty())
        r += "\r\n250-AUTH XOAUTH2";
      else if (!script_.password.empty())
        r += "\r\n250-AUTH " + script_.auth_mechanisms;
      r += "\r\n250 HELP";
      c.send(r);
    } else if (cmd == "HELO") {
      c.send("250 upstream.test");
    } else if (cmd == "STARTTLS" && tls_ctx_ && !c.ssl) {
      c.send("220 2.0.0 Ready to start TLS");
      c.buf.clear();
      if (!tls_on()) return;
    } else if (cmd == "AUTH") {
      std::string rest = line.size() > 5 ? line.substr(5) : "";
      std::string mech = upper(rest.substr(0, rest.find(' ')));
      std::string password;
      if (!script_.bearer_tokens_file.empty()) {
        std::string b64 =
            rest.find(' ') == std::string::npos ? "" : rest.substr(rest.find(' ') + 1);
        std::string ir = mech == "XOAUTH2" ? unbase64(b64) : "";
        const std::string want_user = "user=" + script_.xoauth2_user + "\x01auth=Bearer ";
        bool ok = ir.rfind(want_user, 0) == 0 && ir.size() >= want_user.size() + 2 &&
                  ir.compare(ir.size() - 2, 2, "\x01\x01") == 0 &&
                  bearer_valid(script_.bearer_tokens_file,
                               ir.substr(want_user.size(), ir.size() - want_user.size() - 2));
        if (mech != "XOAUTH2") {
          c.send("504 5.5.4 Unrecognized authentication type");
        } else if (ok) {
          authed = true;
          c.send("235 2.7.0 Authentication successful");
        } else {
          ++auth_failures_;
          // The error challenge: base64 of {"status":"401","schemes":"bearer","scope":...}
          c.send(
              "334 "
              "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL2NvbW11bmljYXRp"
              "b24uYXp1cmUuY29tLy5kZWZhdWx0In0=");
          std::string empty;
          if (!c.read_line(empty)) return;
          c.send(empty.empty() ? "535 5.7.3 Authentication unsuccessful"
                               : "501 5.5.2 expected an empty line after the error challenge");
        }
        continue;
      }
      if ((" " + upper(script_.auth_mechanisms) + " ").find(" " + mech + " ") ==
          std::string::npos) {
        c.send("504 5.5.4 Unrecognized authentication type");
        continue;
      }
      if (mech == "PLAIN") {
        std::string b64 =
            rest.find(' ') == std::string::npos ? "" : rest.substr(rest.find(' ') + 1);
        if (b64.empty()) {
          c.send("334 ");
          if (!c.read_line(b64)) return;
        }
        std::string token = unbase64(b64);
        size_t second = token.find('\0', token.find('\0') + 1);
        password = second == std::string::npos ? "" : token.substr(second + 1);
      } else if (mech == "LOGIN") {
        std::string u, p;
        c.send("334 VXNlcm5hbWU6");
        if (!c.read_line(u)) return;
        c.send("334 UGFzc3dvcmQ6");
        if (!c.read_line(p)) return;
        password = unbase64(p);
      } else {
        c.send("504 5.5.4 Unrecognized authentication type");
        continue;
      }
      if (!script_.password.empty() && same_secret(password, script_.password)) {
        authed = true;
        c.send("235 2.7.0 Authentication successful");
      } else {
        ++auth_failures_;
        c.send("535 5.7.3 Authentication unsuccessful");
      }
    } else if (cmd == "MAIL") {
      if (!authed) {
        c.send("530 5.7.57 Client not authenticated to send mail");
        continue;
      }
      if (auto p = unadvertised_param(line, script_.ehlo_keywords); !p.empty()) {
        c.send("555 5.5.4 " + p + " parameter not supported");
        continue;
      }
      if (starts(local_part(line.substr(line.find(':') + 1)), "SHUTMAIL-")) {
        c.send("421 4.3.2 Service shutting down, closing transmission channel");
        return;
      }
      sender = line;
      rcpts.clear();
      drop = blocked = shut_data = shut_end = false;
      surplus = surplus_late = surplus_data = false;
      c.send("250 2.1.0 Sender Ok");
    } else if (cmd == "RCPT") {
      if (sender.empty()) {
        c.send("503 5.5.1 need MAIL");
        continue;
      }
      std::string rcpt = line.substr(line.find(':') + 1);
      rcpt = rcpt.substr(0, rcpt.find('>') + 1);
      std::string lp = local_part(rcpt);
      if (auto p = unadvertised_param(line, script_.ehlo_keywords); !p.empty()) {
        c.send("555 5.5.4 " + p + " parameter not supported");
        continue;
      }
      if (starts(lp, "HANGUP-")) return;
      if (starts(lp, "STALLFIRST-") && first_time("STALL", rcpt)) {
        while (!stopping_ && c.read_more()) {
        }
        return;
      }
      std::string r = reply_for_rcpt(rcpt);
      if (r[0] == '2') {
        rcpts.push_back(rcpt);
        drop =
            drop || starts(lp, "DROP-") || (starts(lp, "DROPFIRST-") && first_time("DROP", rcpt));
        blocked = blocked || starts(lp, "BLOCKED-");
        shut_data = shut_data || starts(lp, "SHUTDATA-");
        shut_end = shut_end || starts(lp, "SHUTEND-");
        surplus = surplus || starts(lp, "SURPLUS-");
        surplus_late = surplus_late || starts(lp, "SURPLUSLATE-");
        surplus_data = surplus_data || starts(lp, "SURPLUSDATA-");
      }
      if (starts(lp, "SURPLUSRCPT-")) {
        // The reply and a surplus one in two TLS records of one TCP segment: the relay's
        // read gets the first, the second waits inside TLS (SSL_pending, not its buffer).
        int on = 1, off = 0;
        setsockopt(c.fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
        c.send(r);
        c.send("250 2.1.5 surplus answer to no command");
        setsockopt(c.fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
        continue;
      }
      c.send(r);
    } else if (cmd == "DATA") {
      if (rcpts.empty()) {
        c.send("554 5.5.1 no valid recipients");
        continue;
      }
      if (shut_data) {
        c.send("421 4.3.2 Service shutting down, closing transmission channel");
        return;
      }
      // SURPLUSDATA-*: a premature end-of-data verdict rides along with the 354.
      c.send(surplus_data ? "354 Start mail input\r\n250 2.0.0 OK queued as premature"
                          : "354 Start mail input; end with <CRLF>.<CRLF>");
      std::string msg, l;
      bool ended = false;
      while (c.read_line(l)) {
        if (l == ".") {
          ended = true;
          break;
        }
        msg += l + "\r\n";
        if (drop && l.empty()) return;  // after the header section: hang up
      }
      if (!ended) return;
      if (shut_end) {
        c.send("421 4.3.2 Service shutting down, closing transmission channel");
        return;
      }
      if (blocked) {
        c.send(
            "554 5.7.1 [CS01] Message rejected due to local policy. Please visit "
            "https://support.apple.com/en-us/HT204137");
      } else {
        int n = ++messages_;
        if (!script_.capture_dir.empty()) {
          std::ofstream out(script_.capture_dir + "/msg-" + std::to_string(n) + ".eml",
                            std::ios::binary);
          out << "X-Envelope-From: " << sender << "\r\n";
          for (const auto& r : rcpts) out << "X-Envelope-To: " << r << "\r\n";
          out << msg;
        }
        // SURPLUS-*: the answers a smuggled second transaction would draw, in the same write
        // as the real one (or 200 ms later for SURPLUSLATE-*): replies to no command.
        const std::string extra =
            "\r\n250 2.1.0 Sender Ok\r\n250 2.1.5 Recipient Ok\r\n"
            "354 Start mail input\r\n554 5.7.1 smuggled message rejected";
        if (surplus) {
          c.send("250 2.0.0 OK queued as " + std::to_string(n) + extra);
        } else {
          c.send("250 2.0.0 OK queued as " + std::to_string(n));
          if (surplus_late) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            c.send(extra.substr(2));
          }
        }
      }
      sender.clear();
      rcpts.clear();
    } else if (cmd == "RSET") {
      sender.clear();
      rcpts.clear();
      if (script_.rset_delay_ms > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(script_.rset_delay_ms));
      c.send("250 2.0.0 Ok");
    } else if (cmd == "NOOP") {
      c.send("250 2.0.0 Ok");
    } else if (cmd == "QUIT") {
      c.send("221 2.0.0 Bye");
      return;
    } else {
      c.send("502 5.5.2 Command not recognized");
    }
  }
}

}  // namespace bouncegate::test
