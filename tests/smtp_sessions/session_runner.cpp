// Replays tests/smtp_sessions/*.session transcripts through the real bouncegate-relay, a
// scripted upstream (STARTTLS with a test CA, AUTH) and a private redis-server.
//
// Transcript lines (blank lines and '#' comments ignored):
//   UPSTREAM: key=value ...   greeting="421 4.3.2 busy", ca=untrusted, password=wrong,
//                             tls=none|implicit, cert=wronghost (not for "localhost"),
//                             auth="LOGIN" (mechanisms offered), ehlo="SIZE 1000,DSN" (the
//                             EHLO keywords), port=blackhole (connect never completes),
//                             connect_timeout=1s (set before the first C:/S: line),
//                             idle_close=300ms (an idle connection gets 421, then EOF),
//                             rset_delay=500ms (RSET answered that late)
//   RELAY: yaml               a line under relay: (e.g. "max_recipients: 3")
//   RELAY-UPSTREAM: yaml      a line under relay.upstream: (e.g. "max_connections: 1")
//   CONFIG: yaml              a top-level line; {unsub_key} is a key file made for the test
//   JOURNAL: on               suppression.journal_path is a file of the test (default: none)
//   UNSUBSCRIBE: addr list    records an unsubscribe of addr from list (before what follows)
//   SUPPRESS: addr            records a hard bounce for addr (a 24h lease, level 0)
//   SHARED-PAUSE: ms          another relay of the fleet saw a throttle: bg:pause for ms
//   REDIS-KEY: key present|absent
//   FLEET-SLOT: name          another relay holds upstream connection slot `name`
//   FLEET-RELEASE: name       ... and gives it back
//   FLEET-SLOTS: N            N upstream connection slots are held in the fleet
//   C: line                   client line; consecutive C: lines go out in one write
//   C2: line / S2: prefix     the same on a second client connection, opened at its first C2
//   C-REPEAT: N line          N client lines, {i} replaced by 1..N
//   C-BODY: N                 N bytes of message text in 78-octet lines
//   C-LINE: N                 one text line of N octets (CRLF not counted)
//   C-RAW: text               client bytes with \r \n \t \\ \xHH escapes, no CRLF added
//   S: prefix                 the next reply starts with prefix (multi-line joined by \n)
//   S-REPEAT: N prefix        N replies with that prefix
//   S-WITHIN: ms prefix       the next reply starts with prefix and arrives within ms
//   CLOSED                    the relay closed the connection
//   RECONNECT                 a new client connection (reads nothing)
//   SLEEP: ms
//   STORE: addr absent | STORE: addr class=hard level=0 action=suppress source=relay
//   EVENT: addr class=reputation action=record   (some event for addr has these fields)
//   MID: message-id queue_id=X                   (bg:mid: record)
//   STATS: domain total=N                        (outcomes counted for domain, "-": none)
//   UPSTREAM-STATS: connections=N messages=N auth_failures=N
//   UPSTREAM-SAW: text        some command line received upstream contains text
//   UPSTREAM-NEVER: text      no command line received upstream contains text
//   UPSTREAM-PIPELINED: yes|no text   a command containing text came (or not) in the same
//                             write as the command before it
//   REDIS: stop|start         kill the redis-server / start it again on its port (empty)
//   REDIS: pause|resume       SIGSTOP / SIGCONT: Redis accepts connections but answers nothing
//   LOG: text                 the relay's log contains text
//   METRIC: series N          the relay's /metrics shows series with value N (absent: 0)
//   UPSTREAM-MESSAGE: N lines=L bytes=B   the N-th message the upstream took, as it arrived
//                             (envelope lines of the capture left out)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "core/config.hpp"
#include "core/store.hpp"
#include "tests/support/blackhole.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/scripted_upstream.hpp"
#include "tests/support/smtp_client.hpp"
#include "tests/support/test_ca.hpp"

namespace bouncegate::test {
namespace {

struct Line {
  int no = 0;
  std::string kind, text;
};

// C-RAW: the bytes a hostile client sends, written with C escapes.
std::string unescape_raw(const std::string& t) {
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '\\' || i + 1 == t.size()) {
      out += t[i];
      continue;
    }
    char e = t[++i];
    if (e == 'r')
      out += '\r';
    else if (e == 'n')
      out += '\n';
    else if (e == 't')
      out += '\t';
    else if (e == 'x' && i + 2 < t.size()) {
      out += static_cast<char>(std::stoi(t.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else
      out += e;
  }
  return out;
}

std::vector<Line> read_transcript(const std::string& path) {
  std::ifstream in(path);
  std::vector<Line> out;
  std::string l;
  int no = 0;
  while (std::getline(in, l)) {
    ++no;
    if (l.empty() || l[0] == '#') continue;
    size_t colon = l.find(':');
    std::string kind = l.substr(0, colon);
    if (colon == std::string::npos || kind.find(' ') != std::string::npos) {
      out.push_back({no, l, ""});  // CLOSED, RECONNECT
      continue;
    }
    std::string text = l.substr(colon + 1);
    if (!text.empty() && text[0] == ' ') text.erase(0, 1);
    out.push_back({no, kind, text});
  }
  return out;
}

// key=value pairs; values may be double-quoted.
std::map<std::string, std::string> pairs(const std::string& s) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t eq = s.find('=', i), sp = s.find(' ', i);
    if (eq == std::string::npos) break;
    if (sp < eq) {  // a word without '=' (the address): skip it
      i = sp;
      continue;
    }
    std::string k = s.substr(i, eq - i), v;
    i = eq + 1;
    if (i < s.size() && s[i] == '"') {
      size_t end = s.find('"', i + 1);
      v = s.substr(i + 1, end - i - 1);
      i = end == std::string::npos ? s.size() : end + 1;
    } else {
      size_t end = s.find(' ', i);
      v = s.substr(i, end == std::string::npos ? std::string::npos : end - i);
      i = end == std::string::npos ? s.size() : end;
    }
    out[k] = v;
  }
  return out;
}

using Client = SmtpClient;

std::vector<std::string> transcripts() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(source_path("tests/smtp_sessions")))
    if (e.path().extension() == ".session") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string item; std::getline(is, item, ',');) out.push_back(item);
  return out;
}

class SessionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SessionTest, Replays) {
  auto lines = read_transcript(source_path("tests/smtp_sessions/" + GetParam() + ".session"));
  ASSERT_FALSE(lines.empty());
  std::map<std::string, std::string> up_opts;
  std::string relay_extra, top_extra, upstream_extra;
  for (const auto& l : lines) {
    if (l.kind == "UPSTREAM")
      for (const auto& [k, v] : pairs(l.text)) up_opts[k] = v;
    if (l.kind == "RELAY") relay_extra += "  " + l.text + "\n";
    if (l.kind == "RELAY-UPSTREAM") upstream_extra += "    " + l.text + "\n";
    if (l.kind == "CONFIG") top_extra += l.text + "\n";
  }
  TempDir dir;
  RedisServer redis;
  TestCa ca = up_opts["cert"] == "wronghost"
                  ? make_test_ca(dir.path(), "upstream", "DNS:mail.wrong.example")
                  : make_test_ca(dir.path(), "upstream");
  UpstreamScript script;
  if (up_opts.count("greeting")) script.greeting = up_opts["greeting"];
  if (up_opts.count("auth")) script.auth_mechanisms = up_opts["auth"];
  if (up_opts.count("idle_close"))
    script.idle_close_ms = static_cast<int>(parse_duration(up_opts["idle_close"])->count());
  if (up_opts.count("rset_delay"))
    script.rset_delay_ms = static_cast<int>(parse_duration(up_opts["rset_delay"])->count());
  if (up_opts.count("ehlo")) script.ehlo_keywords = split_commas(up_opts["ehlo"]);
  std::string tls = up_opts.count("tls") ? up_opts["tls"] : "starttls";
  if (tls != "none") {
    script.tls_cert = ca.server_cert;
    script.tls_key = ca.server_key;
    script.implicit_tls = tls == "implicit";
  }
  script.password = "upstream-s3cret";
  // Every message the upstream takes is kept, for UPSTREAM-MESSAGE lines.
  script.capture_dir = dir.path() + "/captured";
  std::filesystem::create_directories(script.capture_dir);
  ScriptedUpstream upstream(script);
  std::optional<Blackhole> blackhole;
  if (up_opts["port"] == "blackhole") blackhole.emplace();
  int upstream_port = blackhole ? blackhole->port() : upstream.port();
  std::string connect_timeout =
      up_opts.count("connect_timeout") ? up_opts["connect_timeout"] : std::string("5s");
  std::string trusted = ca.ca_cert;
  if (up_opts["ca"] == "untrusted") trusted = make_test_ca(dir.path(), "other").ca_cert;
  std::string pw = dir.file(
      "smtp-password", up_opts["password"] == "wrong" ? "not-the-password\n" : "upstream-s3cret\n");
  int relay_port = free_port();
  // The relay's metrics endpoint, for METRIC lines (unless a CONFIG line sets metrics itself).
  const int metrics_port = free_port();
  if (top_extra.find("metrics:") == std::string::npos)
    top_extra += "metrics: {relay_listen: '127.0.0.1:" + std::to_string(metrics_port) + "'}\n";
  std::string yaml =
      config_yaml(redis.port(), "[24h, 48h, 96h, 7d, 14d]",
                  "relay:\n  listen: [\"127.0.0.1:" + std::to_string(relay_port) +
                      "\"]\n  hostname: relay.test\n  upstream:\n    host: localhost\n    port: " +
                      std::to_string(upstream_port) + "\n    tls: " + tls +
                      (tls == "none" ? "\n    insecure: true" : "") + "\n    ca_file: " + trusted +
                      "\n    username: app.tenant.test\n    password_file: " + pw +
                      "\n    helo: relay.test\n    connect_timeout: " + connect_timeout +
                      "\n    command_timeout: 10s\n    data_timeout: 10s\n" + upstream_extra +
                      relay_extra + "logging: {level: debug}\n" + top_extra);
  std::string key = dir.file("unsub.key", std::string(64, 'a') + "\n");
  for (size_t p; (p = yaml.find("{unsub_key}")) != std::string::npos;) yaml.replace(p, 11, key);
  for (const auto& l : lines)
    if (l.kind == "JOURNAL" && l.text == "on") {
      const std::string none = "journal_path: ''";
      yaml.replace(yaml.find(none), none.size(), "journal_path: " + dir.path() + "/journal");
    }
  std::string cfg_path = dir.file("bouncegate.yaml", yaml);
  auto cfg = load_config_text(yaml, cfg_path);
  SuppressionStore store(cfg->redis, cfg->suppression);

  DaemonProcess relay({bin("bouncegate-relay"), "--config", cfg_path}, dir.path() + "/relay.log");
  ASSERT_TRUE(wait_for_port(relay_port, 5000)) << relay.log();
  auto client = std::make_unique<Client>(relay_port);
  std::string pending;
  auto where = [&](const Line& l) {
    return GetParam() + ".session:" + std::to_string(l.no) + ": " + l.kind + ": " + l.text;
  };
  // The relay writes what it learned off the reply path and closes a session only once it is
  // written: after a 221 or 421, checks of Redis wait for the close; other positive checks
  // are retried for up to 2 s (eventually()).
  std::string last_reply;
  bool settled = false;
  auto flush = [&] {
    if (!pending.empty()) {
      client->send(pending);
      settled = false;
    }
    pending.clear();
  };
  auto settle = [&] {
    if (settled) return;
    settled = true;
    if (last_reply.rfind("221", 0) == 0 || last_reply.rfind("421", 0) == 0) client->closed();
  };
  auto eventually = [&](const std::function<bool()>& holds) {
    settle();
    for (int i = 0; i < 100; ++i) {
      if (holds()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return holds();
  };
  std::unique_ptr<Client> client2;
  for (const auto& l : lines) {
    if (l.kind == "C") {
      pending += l.text + "\r\n";
      continue;
    }
    if (l.kind == "C2" || l.kind == "S2") {
      flush();
      if (!client2) client2 = std::make_unique<Client>(relay_port);
      if (l.kind == "C2") {
        client2->send(l.text + "\r\n");
      } else {
        std::string r = client2->reply();
        ASSERT_EQ(r.substr(0, l.text.size()), l.text) << where(l) << "\nreply: " << r;
      }
      continue;
    }
    if (l.kind == "C-REPEAT") {
      std::istringstream is(l.text);
      int n = 0;
      is >> n;
      std::string tpl;
      std::getline(is, tpl);
      tpl.erase(0, tpl.find_first_not_of(' '));
      for (int i = 1; i <= n; ++i) {
        std::string t = tpl;
        if (auto p = t.find("{i}"); p != std::string::npos) t.replace(p, 3, std::to_string(i));
        pending += t + "\r\n";
      }
      continue;
    }
    if (l.kind == "C-RAW") {
      pending += unescape_raw(l.text);
      continue;
    }
    if (l.kind == "C-LINE") {
      pending += std::string(std::stoul(l.text), 'x') + "\r\n";
      continue;
    }
    if (l.kind == "C-BODY") {
      size_t n = std::stoul(l.text);
      for (size_t sent = 0; sent < n; sent += 80) pending += std::string(78, 'x') + "\r\n";
      continue;
    }
    flush();
    if (l.kind == "S" || l.kind == "S-REPEAT" || l.kind == "S-WITHIN") {
      int n = 1;
      std::string prefix = l.text;
      long within_ms = -1;
      if (l.kind == "S-REPEAT") {
        n = std::stoi(l.text);
        prefix = l.text.substr(l.text.find(' ') + 1);
      } else if (l.kind == "S-WITHIN") {
        within_ms = std::stol(l.text);
        prefix = l.text.substr(l.text.find(' ') + 1);
      }
      const auto asked = std::chrono::steady_clock::now();
      for (size_t p = prefix.find("\\n"); p != std::string::npos; p = prefix.find("\\n", p + 1))
        prefix.replace(p, 2, "\n");
      for (int i = 0; i < n; ++i) {
        std::string r = client->reply();
        last_reply = r;
        ASSERT_EQ(r.substr(0, prefix.size()), prefix)
            << where(l) << "\nreply " << i + 1 << ": " << r << "\nrelay log:\n"
            << relay.log();
      }
      if (within_ms >= 0) {
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - asked)
                        .count();
        EXPECT_LE(took, within_ms) << where(l) << ": the reply took " << took << " ms";
      }
    } else if (l.kind == "CLOSED") {
      EXPECT_TRUE(client->closed()) << where(l);
      settled = true;
    } else if (l.kind == "UNSUBSCRIBE") {
      std::istringstream is(l.text);
      std::string addr, list;
      is >> addr >> list;
      store.unsubscribe(addr, list, EventContext{"", "", Source::cli, ""});
    } else if (l.kind == "SUPPRESS") {
      OutcomeRecord o;
      o.address = l.text;
      o.cls = OutcomeClass::hard;
      o.action = Action::suppress;
      o.code = "550 5.1.1";
      o.text = "user unknown";
      o.ctx.source = Source::cli;
      store.record(o);
    } else if (l.kind == "SHARED-PAUSE") {
      store.share_pause(Millis(std::stoll(l.text)));
    } else if (l.kind == "FLEET-SLOT") {
      ASSERT_TRUE(store.claim_upstream_slot(l.text, 100000, std::chrono::seconds(30))) << where(l);
    } else if (l.kind == "FLEET-RELEASE") {
      store.release_upstream_slots({l.text});
    } else if (l.kind == "FLEET-SLOTS") {
      EXPECT_EQ(redis.cli({"ZCARD", "bg:upstream:slots"}), l.text + "\n") << where(l);
    } else if (l.kind == "REDIS-KEY") {
      std::string key = l.text.substr(0, l.text.find(' '));
      const bool want = l.text.find(" present") != std::string::npos;
      auto present = [&] { return redis.cli({"EXISTS", key}).find('1') != std::string::npos; };
      settle();
      EXPECT_EQ(want ? eventually(present) : present(), want) << where(l);
    } else if (l.kind == "RECONNECT") {
      client = std::make_unique<Client>(relay_port);
    } else if (l.kind == "SLEEP") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(l.text)));
    } else if (l.kind == "STORE") {
      std::string addr = l.text.substr(0, l.text.find(' '));
      const bool absent = l.text.find(" absent") != std::string::npos;
      auto want = pairs(l.text);
      // Present with every field asked for (a lease step may still be on its way).
      auto matches = [&] {
        auto e = store.get(addr);
        if (!e) return false;
        for (const auto& [k, v] : want) {
          if ((k == "class" && to_string(e->cls) != v) ||
              (k == "level" && std::to_string(e->level) != v) ||
              (k == "action" && to_string(e->action) != v) || (k == "source" && e->source != v) ||
              (k == "code" && e->code != v))
            return false;
        }
        return true;
      };
      settle();
      if (!absent) eventually(matches);
      auto e = store.get(addr);
      if (absent) {
        EXPECT_FALSE(e) << where(l) << ": stored with class " << (e ? to_string(e->cls) : "");
        continue;
      }
      ASSERT_TRUE(e) << where(l) << ": not stored\nrelay log:\n" << relay.log();
      for (const auto& [k, v] : pairs(l.text)) {
        std::string got = k == "class"    ? std::string(to_string(e->cls))
                          : k == "level"  ? std::to_string(e->level)
                          : k == "action" ? std::string(to_string(e->action))
                          : k == "source" ? e->source
                          : k == "code"   ? e->code
                                          : "?" + k;
        EXPECT_EQ(got, v) << where(l);
      }
    } else if (l.kind == "EVENT") {
      std::string addr = l.text.substr(0, l.text.find(' '));
      auto want = pairs(l.text);
      auto found = [&] {
        for (const auto& ev : store.events_since(0)) {
          if (ev.get("addr") != addr) continue;
          bool all = true;
          for (const auto& [k, v] : want) all = all && ev.get(k) == v;
          if (all) return true;
        }
        return false;
      };
      EXPECT_TRUE(eventually(found)) << where(l) << "\nrelay log:\n" << relay.log();
    } else if (l.kind == "STATS") {
      std::string domain = l.text.substr(0, l.text.find(' '));
      auto total = [&] {
        int64_t t = 0;
        auto counts = store.stats(0, domain);
        for (const auto& [cls, n] : counts[domain]) t += n;
        return std::to_string(t);
      };
      const std::string want = pairs(l.text)["total"];
      eventually([&] { return total() == want; });
      EXPECT_EQ(total(), want) << where(l);
    } else if (l.kind == "MID") {
      std::string mid = l.text.substr(0, l.text.find(' '));
      auto want = pairs(l.text);
      eventually([&] {
        auto m = store.lookup_message(mid);
        for (const auto& [k, v] : want)
          if (m[k] != v) return false;
        return true;
      });
      auto m = store.lookup_message(mid);
      for (const auto& [k, v] : want) EXPECT_EQ(m[k], v) << where(l);
    } else if (l.kind == "UPSTREAM-STATS") {
      for (const auto& [k, v] : pairs(l.text)) {
        int got = k == "connections"     ? upstream.connections()
                  : k == "messages"      ? upstream.messages()
                  : k == "auth_failures" ? upstream.auth_failures()
                                         : -1;
        EXPECT_EQ(std::to_string(got), v) << where(l) << " (" << k << ")";
      }
    } else if (l.kind == "UPSTREAM-MESSAGE") {
      const std::string n = l.text.substr(0, l.text.find(' '));
      std::ifstream in(script.capture_dir + "/msg-" + n + ".eml", std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (text.rfind("X-Envelope-", 0) == 0) text.erase(0, text.find('\n') + 1);
      size_t lines = 0;
      for (size_t at = text.find("\r\n"); at != std::string::npos; at = text.find("\r\n", at + 2))
        ++lines;
      for (const auto& [k, v] : pairs(l.text.substr(l.text.find(' ') + 1)))
        EXPECT_EQ(k == "lines" ? std::to_string(lines) : std::to_string(text.size()), v)
            << where(l) << " (" << k << ")";
    } else if (l.kind == "METRIC") {
      const std::string series = l.text.substr(0, l.text.rfind(' '));
      const std::string want = l.text.substr(l.text.rfind(' ') + 1);
      std::string page = run({"curl", "-s", "--max-time", "5",
                              "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"})
                             .out;
      std::string got = "0";
      for (size_t at = page.find(series + " "); at != std::string::npos;
           at = page.find(series + " ", at + 1))
        if (at == 0 || page[at - 1] == '\n') {
          got = page.substr(at + series.size() + 1, page.find('\n', at) - at - series.size() - 1);
          break;
        }
      EXPECT_EQ(got, want) << where(l) << " (" << series << ")";
    } else if (l.kind == "UPSTREAM-SAW") {
      bool seen = false;
      for (const auto& c : upstream.commands()) seen = seen || c.find(l.text) != std::string::npos;
      EXPECT_TRUE(seen) << where(l);
    } else if (l.kind == "UPSTREAM-PIPELINED") {
      const bool want = l.text.rfind("yes ", 0) == 0;
      const std::string text = l.text.substr(l.text.find(' ') + 1);
      bool seen = false;
      for (const auto& c : upstream.pipelined()) seen = seen || c.find(text) != std::string::npos;
      EXPECT_EQ(seen, want) << where(l);
    } else if (l.kind == "UPSTREAM-NEVER") {
      for (const auto& c : upstream.commands())
        EXPECT_EQ(c.find(l.text), std::string::npos) << where(l) << ": upstream saw " << c;
    } else if (l.kind == "REDIS") {
      if (l.text == "stop")
        redis.stop();
      else if (l.text == "start")
        redis.start();
      else if (l.text == "pause")
        redis.pause();
      else if (l.text == "resume")
        redis.resume();
      else
        FAIL() << where(l) << ": stop, start, pause or resume";
    } else if (l.kind == "LOG") {
      // Log lines are written as events happen; allow the relay a moment.
      bool seen = false;
      for (int i = 0; i < 50 && !seen; ++i) {
        seen = relay.log().find(l.text) != std::string::npos;
        if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      EXPECT_TRUE(seen) << where(l) << "\nrelay log:\n" << relay.log();
    } else if (l.kind != "UPSTREAM" && l.kind != "RELAY" && l.kind != "CONFIG" &&
               l.kind != "JOURNAL" && l.kind != "RELAY-UPSTREAM") {
      FAIL() << where(l) << ": unknown directive";
    }
  }
  client.reset();
  // SIGTERM drains: the relay exits by itself once its sessions are done.
  EXPECT_EQ(relay.stop(SIGTERM, 15000), 0) << relay.log();
  EXPECT_EQ(relay.log().find("upstream-s3cret"), std::string::npos) << "password in the log";
}

// The daemon's own contract: --check-config, relay.allow, max_sessions, SIGHUP reload.
struct RelayDaemon : ::testing::Test {
  TempDir dir;
  RedisServer redis;
  int port = free_port();
  std::string config(const std::string& relay_extra) {
    return config_yaml(redis.port(), "[24h, 48h, 96h, 7d, 14d]",
                       "relay:\n  listen: [\"127.0.0.1:" + std::to_string(port) +
                           "\"]\n  upstream: {host: localhost, port: 1, tls: none, "
                           "insecure: true}\n" +
                           relay_extra);
  }
};

TEST_F(RelayDaemon, CheckConfigExitCodes) {
  std::string good = dir.file("good.yaml", config(""));
  RunResult ok = run({bin("bouncegate-relay"), "--config", good, "--check-config"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  std::string bad = dir.file("bad.yaml", config("  allow: [\"10.0.0.0/40\"]\n"));
  RunResult no = run({bin("bouncegate-relay"), "--config", bad, "--check-config"});
  EXPECT_EQ(no.exit_code, 78);
  EXPECT_NE(no.err.find("10.0.0.0/40"), std::string::npos) << no.err;
  RunResult missing = run({bin("bouncegate-relay"), "--config", dir.path() + "/none.yaml"});
  EXPECT_EQ(missing.exit_code, 78);
}

TEST_F(RelayDaemon, ClientOutsideAllowListIsRefused) {
  std::string cfg = dir.file("r.yaml", config("  allow: [\"10.0.0.0/8\"]\n"));
  DaemonProcess relay({bin("bouncegate-relay"), "--config", cfg}, dir.path() + "/relay.log");
  ASSERT_TRUE(wait_for_port(port, 5000)) << relay.log();
  Client c(port);
  EXPECT_EQ(c.reply().substr(0, 9), "554 5.7.1");
  EXPECT_TRUE(c.closed());
  EXPECT_NE(relay.log().find("client refused: not in relay.allow"), std::string::npos);
}

TEST_F(RelayDaemon, SessionsBeyondMaxGet421) {
  std::string cfg = dir.file("r.yaml", config("  max_sessions: 1\n"));
  DaemonProcess relay({bin("bouncegate-relay"), "--config", cfg}, dir.path() + "/relay.log");
  ASSERT_TRUE(wait_for_port(port, 5000)) << relay.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the probe session ends
  Client first(port);
  EXPECT_EQ(first.reply().substr(0, 3), "220");
  Client second(port);
  EXPECT_EQ(second.reply().substr(0, 9), "421 4.3.2");
}

TEST_F(RelayDaemon, SighupKeepsOldConfigWhenNewFileIsBadAndAppliesGoodOne) {
  std::string path = dir.file("r.yaml", config("  hostname: first.test\n"));
  DaemonProcess relay({bin("bouncegate-relay"), "--config", path}, dir.path() + "/relay.log");
  ASSERT_TRUE(wait_for_port(port, 5000)) << relay.log();
  dir.file("r.yaml", "relay: [not, a, mapping\n");
  relay.signal(SIGHUP);
  EXPECT_TRUE(relay.wait_for_log("reload refused", 2000)) << relay.log();
  {
    Client c(port);
    EXPECT_EQ(c.reply().substr(0, 15), "220 first.test ");
  }
  dir.file("r.yaml", config("  hostname: second.test\n"));
  relay.signal(SIGHUP);
  EXPECT_TRUE(relay.wait_for_log("configuration reloaded", 2000)) << relay.log();
  Client c(port);
  EXPECT_EQ(c.reply().substr(0, 16), "220 second.test ");
}

TEST_F(RelayDaemon, SigtermStopsAcceptingAndEndsIdleSessionsWith421) {
  std::string cfg = dir.file("r.yaml", config(""));
  DaemonProcess relay({bin("bouncegate-relay"), "--config", cfg}, dir.path() + "/relay.log");
  ASSERT_TRUE(wait_for_port(port, 5000)) << relay.log();
  Client c(port);
  EXPECT_EQ(c.reply().substr(0, 3), "220");
  c.send("HELO client.test\r\n");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  relay.signal(SIGTERM);
  EXPECT_TRUE(relay.wait_for_log("draining", 2000)) << relay.log();
  EXPECT_FALSE(wait_for_port(port, 200)) << "still accepting while draining";
  c.send("NOOP\r\n");
  EXPECT_EQ(c.reply().substr(0, 9), "421 4.3.2");
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(relay.stop(SIGTERM, 5000), 0) << relay.log();
}

INSTANTIATE_TEST_SUITE_P(Transcripts, SessionTest, ::testing::ValuesIn(transcripts()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace bouncegate::test
