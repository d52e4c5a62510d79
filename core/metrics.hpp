// Prometheus metrics: counters and histograms with bounded label sets, rendered in the text
// exposition format and served on a loopback port by a small HTTP thread.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bouncegate {

class Metrics {
 public:
  static Metrics& instance();

  // Increments counter `name` with labels (e.g. {{"result","reject"},{"class","hard"}}).
  void inc(const std::string& name,
           const std::vector<std::pair<std::string, std::string>>& labels = {}, double by = 1);
  void set_gauge(const std::string& name, double value,
                 const std::vector<std::pair<std::string, std::string>>& labels = {});
  // Observes seconds in histogram `name` (fixed buckets from 0.5 ms to 10 s).
  void observe(const std::string& name, double seconds,
               const std::vector<std::pair<std::string, std::string>>& labels = {});
  void describe(const std::string& name, const std::string& type, const std::string& help);
  std::string render() const;

  // Limits label values to a configured top list, else "other" (no unbounded labels).
  void set_top_domains(const std::vector<std::string>& domains);
  std::string domain_label(const std::string& domain) const;

 private:
  struct Histogram {
    std::array<uint64_t, 14> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  static std::string key(const std::string& name,
                         const std::vector<std::pair<std::string, std::string>>& labels);
  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> help_;  // name -> type, help
  std::map<std::string, double> values_;                             // "name{labels}" -> value
  std::map<std::string, Histogram> histograms_;                      // "name{labels}" -> h
  std::vector<std::string> top_domains_;
};

// Serves GET /metrics on host:port (loopback by default) until destroyed.
class MetricsServer {
 public:
  // Throws std::runtime_error when the address cannot be bound.
  explicit MetricsServer(const std::string& listen);
  ~MetricsServer();
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Starts the endpoint when `listen` is set (nullptr otherwise) and applies the domain label
// list. Throws std::runtime_error when it cannot bind; daemons treat that as a start failure.
std::unique_ptr<MetricsServer> start_metrics_endpoint(const std::string& listen,
                                                      const std::vector<std::string>& top_domains);

}  // namespace bouncegate
