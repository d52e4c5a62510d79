// bouncegate-milter's policy service: Postfix SMTPD access policy delegation over TCP.
#include "milter/policy_service.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>

#include "core/address.hpp"
#include "core/endpoint.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/policy.hpp"
#include "core/reply_policy.hpp"
#include "core/store_failure.hpp"
#include "milter/gate_log.hpp"

namespace bouncegate::milter {

namespace {
std::string attr(const PolicyRequest& r, const char* name) {
  auto it = r.find(name);
  return it == r.end() ? std::string() : it->second;
}
void count(const char* decision) {
  Metrics::instance().inc("bouncegate_milter_policy_requests_total", {{"decision", decision}});
}
}  // namespace

std::string decide_policy(const Runtime& rt, const PolicyRequest& req) {
  if (attr(req, "request") != "smtpd_access_policy" || attr(req, "protocol_state") != "RCPT") {
    count("not_rcpt");
    return policy_dunno();  // placed under another restriction list: no opinion
  }
  const Config& cfg = *rt.config;
  const MilterConfig& mc = cfg.milter;
  const std::string queue_id = attr(req, "queue_id");
  const std::string log_id = queue_id.empty() ? "NOQUEUE" : queue_id;
  const std::string raw_rcpt = attr(req, "recipient"), raw_sender = attr(req, "sender");
  std::string why;
  auto a = normalize_address(raw_rcpt, &why);
  if (!a) {
    auto r = mc.shadow ? std::nullopt : bad_address_reply(cfg.suppression, why);
    log_event(LogLevel::warning, log_id, "rcpt=" + log_quote(raw_rcpt) + " not understood",
              {{"decision", r ? r->code : std::string("accept")}, {"reason", why}});
    count(r ? "refused" : "pass");
    return r ? policy_answer(*r) : policy_dunno();
  }
  std::string sender;
  if (auto s = normalize_address(raw_sender)) sender = s->address;
  const UnsubscribeList* sender_list =
      sender.empty() ? nullptr : list_for_sender(cfg.unsubscribe, sender);
  const std::string list = sender_list ? sender_list->id : "";
  const std::string bypass =
      gate_bypass(policy_for(cfg.policies, policy_sender(raw_sender, sender), list));
  EventContext ec;
  ec.queue_id = queue_id;
  ec.source = Source::milter;
  ec.actor = "policy";
  GateDecision d;
  try {
    d = rt.store->gate(a->address, list, ec, mc.shadow, GateScope::all, bypass);
  } catch (const std::exception& e) {
    StoreFailureVerdict v =
        store_failure_verdict(mc.on_store_error, mc.shadow, mc.store_error_reply);
    note_store_failed(log_id, e.what(), v.mode);
    count("store_error");
    return v.refuse ? policy_answer(v.reply) : policy_dunno();
  }
  note_store_answered();
  if (d.result == GateResult::pass) {
    log_gate_decision(log_id, a->address, "pass", d);
    count("pass");
    return policy_dunno();
  }
  if (mc.shadow) {
    log_gate_decision(log_id, a->address, "would-" + std::string(to_string(d.result)), d);
    count("shadow");
    return policy_dunno();
  }
  SmtpReplyText reply = gate_reply(cfg.suppression, d, a->address);
  log_gate_decision(log_id, a->address, to_string(d.result), d, reply.line());
  count("refused");
  return policy_answer(reply);
}

PolicyService::PolicyService(const std::string& listen, int max_connections, Millis idle)
    : max_connections_(max_connections), idle_(idle) {
  std::string why;
  auto ep = parse_endpoint(listen, &why, true);
  if (!ep) throw std::runtime_error("policy_listen '" + listen + "': " + why);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (ep->ipv6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(ep->port);
    inet_pton(AF_INET6, ep->host.c_str(), &a6->sin6_addr);
    len = sizeof *a6;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(ep->port);
    inet_pton(AF_INET, ep->host.c_str(), &a4->sin_addr);
    len = sizeof *a4;
  }
  listen_fd_ = socket(ep->ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("policy_listen: no socket");
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Accepted sockets inherit it: answers are written whole, never worth delaying.
  setsockopt(listen_fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(listen_fd_, 128) != 0) {
    close(listen_fd_);
    throw std::runtime_error("policy_listen: cannot listen on " + listen);
  }
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(ep->ipv6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                         : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

PolicyService::~PolicyService() {
  stop();
}

void PolicyService::stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  close(listen_fd_);
  std::unique_lock<std::mutex> l(mu_);
  for (int fd : open_) shutdown(fd, SHUT_RDWR);  // their threads see EOF and end
  idle_cv_.wait_for(l, std::chrono::seconds(5), [&] { return open_.empty(); });
}

void PolicyService::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors or the like: back off instead of spinning on the listener.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        usleep(100'000);
      continue;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      if (static_cast<int>(open_.size()) >= max_connections_) {
        // Postfix treats a policy service it cannot talk to as smtpd_policy_service_default_action
        // (451 4.3.5 by default): the mail is deferred, never let through ungated.
        Metrics::instance().inc("bouncegate_milter_policy_connections_refused_total");
        close(fd);
        continue;
      }
      open_.insert(fd);
    }
    std::thread([this, fd] { serve(fd); }).detach();
  }
}

void PolicyService::serve(int fd) {
  timeval tv{static_cast<time_t>(idle_.count() / 1000),
             static_cast<suseconds_t>(idle_.count() % 1000 * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  timeval wt{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wt, sizeof wt);
  PolicyRequestReader reader;
  char buf[16384];
  std::string error;
  while (!stopping_) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;  // EOF (Postfix closes idle ones), timeout or error
    reader.feed(std::string_view(buf, static_cast<size_t>(n)));
    bool broken = false;
    while (auto req = reader.next(&error)) {
      std::string answer = decide_policy(*current_runtime(), *req);
      if (send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(answer.size())) {
        broken = true;
        break;
      }
    }
    if (!error.empty()) {
      log_event(LogLevel::warning, "", "policy client closed: " + error);
      Metrics::instance().inc("bouncegate_milter_policy_requests_total",
                              {{"decision", "malformed"}});
      break;
    }
    if (broken) break;
  }
  close(fd);
  std::lock_guard<std::mutex> l(mu_);
  open_.erase(fd);
  idle_cv_.notify_all();
}

}  // namespace bouncegate::milter
