// Prometheus text exposition and a minimal loopback HTTP endpoint for it.
#include "core/metrics.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "core/endpoint.hpp"

namespace bouncegate {
namespace {

constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};

std::string fmt(double v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

std::string escape_label(const std::string& v) {
  std::string o;
  for (char c : v) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

}  // namespace

Metrics& Metrics::instance() {
  static Metrics m;
  return m;
}

std::string Metrics::key(const std::string& name,
                         const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return name;
  std::string k = name + "{";
  for (size_t i = 0; i < labels.size(); ++i)
    k += (i ? "," : "") + labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
  return k + "}";
}

void Metrics::inc(const std::string& name,
                  const std::vector<std::pair<std::string, std::string>>& labels, double by) {
  std::lock_guard lock(mu_);
  values_[key(name, labels)] += by;
}

void Metrics::set_gauge(const std::string& name, double value,
                        const std::vector<std::pair<std::string, std::string>>& labels) {
  std::lock_guard lock(mu_);
  values_[key(name, labels)] = value;
  help_.try_emplace(name, "gauge", "");
}

void Metrics::observe(const std::string& name, double seconds,
                      const std::vector<std::pair<std::string, std::string>>& labels) {
  std::lock_guard lock(mu_);
  auto& h = histograms_[key(name, labels)];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard lock(mu_);
  help_[name] = {type, help};
}

void Metrics::set_top_domains(const std::vector<std::string>& domains) {
  std::lock_guard lock(mu_);
  top_domains_ = domains;
}

std::string Metrics::domain_label(const std::string& domain) const {
  std::lock_guard lock(mu_);
  return std::find(top_domains_.begin(), top_domains_.end(), domain) != top_domains_.end()
             ? domain
             : "other";
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  std::string last;
  auto header = [&](const std::string& name, const std::string& fallback_type) {
    if (name == last) return;
    last = name;
    auto it = help_.find(name);
    if (it != help_.end() && !it->second.second.empty())
      out += "# HELP " + name + " " + it->second.second + "\n";
    out += "# TYPE " + name + " " + (it != help_.end() ? it->second.first : fallback_type) + "\n";
  };
  for (const auto& [k, v] : values_) {
    std::string name = k.substr(0, k.find('{'));
    header(name, "counter");
    out += k + " " + fmt(v) + "\n";
  }
  for (const auto& [k, h] : histograms_) {
    size_t brace = k.find('{');
    std::string name = k.substr(0, brace);
    std::string labels =
        brace == std::string::npos ? "" : k.substr(brace + 1, k.size() - brace - 2);
    header(name, "histogram");
    std::string sep = labels.empty() ? "" : ",";
    for (size_t i = 0; i < kBuckets.size(); ++i)
      out += name + "_bucket{" + labels + sep + "le=\"" + fmt(kBuckets[i]) + "\"} " +
             std::to_string(h.buckets[i]) + "\n";
    out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    std::string lb = labels.empty() ? "" : "{" + labels + "}";
    out += name + "_sum" + lb + " " + fmt(h.sum) + "\n";
    out += name + "_count" + lb + " " + std::to_string(h.count) + "\n";
  }
  return out;
}

MetricsServer::MetricsServer(const std::string& listen) {
  std::string why;
  auto ep = parse_endpoint(listen, &why, true);
  if (!ep) throw std::runtime_error("metrics listen '" + listen + "': " + why);
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
  fd_ = socket(ep->ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("metrics listen: no socket");
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd_, 16) != 0) {
    close(fd_);
    throw std::runtime_error("metrics listen: cannot bind " + listen);
  }
  getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(ep->ipv6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                         : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      // One short request per connection; scrapers send a few hundred bytes.
      timeval tv{2, 0};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      char buf[2048];
      ssize_t n = recv(c, buf, sizeof buf - 1, 0);
      std::string req(buf, n > 0 ? static_cast<size_t>(n) : 0);
      std::string body, status = "200 OK";
      if (req.rfind("GET /metrics", 0) == 0) {
        body = Metrics::instance().render();
      } else {
        status = "404 Not Found";
        body = "not found\n";
      }
      std::string resp = "HTTP/1.1 " + status +
                         "\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      size_t off = 0;
      while (off < resp.size()) {
        ssize_t w = send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += static_cast<size_t>(w);
      }
      close(c);
    }
  });
}

std::unique_ptr<MetricsServer> start_metrics_endpoint(const std::string& listen,
                                                      const std::vector<std::string>& top_domains) {
  Metrics::instance().set_top_domains(top_domains);
  if (listen.empty()) return nullptr;
  return std::make_unique<MetricsServer>(listen);
}

MetricsServer::~MetricsServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) close(fd_);
}

}  // namespace bouncegate
