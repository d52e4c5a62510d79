// Shared by the bench drivers: the address pool with its suppressed share, and the latency
// summary (count, p50, p99) of per-thread samples.
#pragma once

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/store.hpp"

namespace bouncegate::bench {

// "--name value" pairs from argv, each name one of `names`; false (after a message naming
// `who`) on an unknown name or a missing value.
inline bool parse_options(int argc, char** argv, const std::vector<std::string>& names,
                          const char* who, std::map<std::string, std::string>& out) {
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 ||
        std::find(names.begin(), names.end(), k.substr(2)) == names.end() || i + 1 >= argc) {
      std::cerr << who << ": unknown option or missing value: " << k << "\n";
      return false;
    }
    out[k.substr(2)] = argv[i + 1];
  }
  return true;
}

inline std::string option_or(const std::map<std::string, std::string>& o, const std::string& k,
                             const std::string& def) {
  auto it = o.find(k);
  return it == o.end() ? def : it->second;
}

// "user0@bench.example" .. "user<pool-1>@bench.example"; the first `suppressed` get a hard
// bounce recorded, so a share of gate calls are hits (lease bump and event) as in production.
inline std::vector<std::string> seeded_addresses(SuppressionStore& store, int pool,
                                                 int suppressed) {
  std::vector<std::string> addresses;
  for (int i = 0; i < pool; ++i) addresses.push_back("user" + std::to_string(i) + "@bench.example");
  for (int i = 0; i < suppressed && i < pool; ++i) {
    OutcomeRecord o;
    o.address = addresses[static_cast<size_t>(i)];
    o.cls = OutcomeClass::hard;
    o.action = Action::suppress;
    o.code = "550 5.1.1";
    o.text = "550 5.1.1 mailbox does not exist";
    store.record(o);
  }
  return addresses;
}

struct Latencies {
  size_t count = 0;
  double p50_us = 0, p99_us = 0;
};

inline Latencies summarize(const std::vector<std::vector<double>>& per_thread) {
  std::vector<double> all;
  for (const auto& v : per_thread) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Latencies l;
  l.count = all.size();
  if (!all.empty()) {
    l.p50_us = all[all.size() / 2];
    l.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return l;
}

// Runs body(t) on `threads` threads and joins them; a thread's exception is reported (with
// `who`) and makes the whole run fail.
template <class Body>
void run_threads(int threads, const std::string& who, Body body) {
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        body(t);
      } catch (const std::exception& e) {
        std::cerr << who << ": " << e.what() << "\n";
        failed = true;
      }
    });
  }
  for (auto& th : pool) th.join();
  if (failed) throw std::runtime_error(who + ": a thread failed");
}

}  // namespace bouncegate::bench
