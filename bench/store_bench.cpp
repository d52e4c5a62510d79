// Load driver for SuppressionStore: several threads call gate() and record() on one store
// (its connection pool) against a real Redis and report operations per second, to set next
// to redis-benchmark's EVALSHA figure on the same server (the round-trip limit).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "core/bloom_filter.hpp"
#include "core/config.hpp"
#include "core/local_filter.hpp"
#include "core/store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  size_t ops = 0;
  double seconds = 0;
  double p50_us = 0, p99_us = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

// Runs `op(thread, i)` on `threads` threads for `seconds`; latencies of every call are kept.
template <class Op>
Result drive(int threads, double seconds, Op op) {
  std::vector<std::vector<double>> lat(static_cast<size_t>(threads));
  auto start = Clock::now();
  auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  bouncegate::bench::run_threads(threads, "store_bench", [&](int t) {
    auto& mine = lat[static_cast<size_t>(t)];
    mine.reserve(1 << 16);
    for (size_t i = 0; Clock::now() < deadline; ++i) {
      auto t0 = Clock::now();
      op(t, i);
      mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
  });
  Result r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  auto l = bouncegate::bench::summarize(lat);
  r.ops = l.count;
  r.p50_us = l.p50_us;
  r.p99_us = l.p99_us;
  return r;
}

void print(const char* name, const Result& r) {
  // One parseable line per operation: bench/run reads `name ops/s p50 p99`.
  std::printf("%-7s %9zu ops in %.2fs = %9.0f/s  p50 %7.1f us  p99 %7.1f us\n", name, r.ops,
              r.seconds, r.rate(), r.p50_us, r.p99_us);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> o;
  if (!bouncegate::bench::parse_options(argc, argv, {"config", "threads", "seconds", "suppressed"},
                                        "store_bench", o))
    return 64;
  std::string config = bouncegate::bench::option_or(o, "config", "");
  int threads = std::stoi(bouncegate::bench::option_or(o, "threads", "8")), pool = 1000,
      suppressed = std::stoi(bouncegate::bench::option_or(o, "suppressed", "100"));
  double seconds = std::stod(bouncegate::bench::option_or(o, "seconds", "3"));
  if (config.empty()) {
    std::cerr
        << "usage: store_bench --config FILE [--threads 8] [--seconds 3] [--suppressed 100]\n";
    return 64;
  }
  try {
    auto cfg = bouncegate::load_config(config);
    bouncegate::SuppressionStore store(cfg->redis, cfg->suppression);
    auto addresses = bouncegate::bench::seeded_addresses(store, pool, suppressed);
    std::printf(
        "store_bench: %d threads, redis pool_size %d, %.1fs per operation, %d of %d "
        "addresses suppressed\n",
        threads, cfg->redis.pool_size, seconds, suppressed, pool);

    std::atomic<size_t> refused{0};
    Result gate = drive(threads, seconds, [&](int t, size_t i) {
      bouncegate::EventContext ctx;
      ctx.queue_id = "BENCH" + std::to_string(t);
      ctx.source = bouncegate::Source::milter;
      const auto& a = addresses[(static_cast<size_t>(t) * 7919u + i * 104729u) % addresses.size()];
      if (store.gate(a, "", ctx).result != bouncegate::GateResult::pass) ++refused;
    });
    // A delivery outcome as the relay records one for every accepted message.
    Result record = drive(threads, seconds, [&](int t, size_t i) {
      bouncegate::OutcomeRecord o;
      o.address = addresses[(static_cast<size_t>(t) * 7919u + i * 104729u) % addresses.size()];
      o.cls = bouncegate::OutcomeClass::delivered;
      o.action = bouncegate::Action::record;
      o.code = "250 2.0.0";
      o.text = "250 2.0.0 OK queued as BENCH";
      o.ctx.queue_id = "BENCH" + std::to_string(t);
      o.ctx.source = bouncegate::Source::relay;
      store.record(o);
    });
    // gate.local_filter: the same store, with the Bloom filter built from the same Redis.
    bouncegate::LocalFilterConfig lf = cfg->gate.local_filter;
    lf.enabled = true;
    auto filter = std::make_shared<bouncegate::LocalFilter>(cfg->redis, lf);
    filter->rebuild();
    store.use_local_filter(filter);
    std::atomic<size_t> refused_lf{0};
    Result gate_lf = drive(threads, seconds, [&](int t, size_t i) {
      bouncegate::EventContext ctx;
      ctx.queue_id = "BENCH" + std::to_string(t);
      ctx.source = bouncegate::Source::milter;
      const auto& a = addresses[(static_cast<size_t>(t) * 7919u + i * 104729u) % addresses.size()];
      if (store.gate(a, "", ctx).result != bouncegate::GateResult::pass) ++refused_lf;
    });
    print("gate", gate);
    print("record", record);
    print("gatelf", gate_lf);
    // The filter's memory for a million members, next to the bytes of the addresses themselves.
    bouncegate::BloomFilter million(1000000, lf.false_positive_rate);
    size_t raw = 0;
    for (int i = 0; i < 1000000; ++i) {
      std::string a = "user" + std::to_string(i) + "@example.com";
      raw += a.size();
      million.add(a);
    }
    std::printf("filter  members 1000000 bytes %zu raw %zu rate %.4f\n", million.bytes(), raw,
                lf.false_positive_rate);
    if (refused_lf == 0) {
      std::cerr << "store_bench: the filtered gate refused nothing; is the filter wrong?\n";
      return 1;
    }
    if (refused == 0) {
      std::cerr << "store_bench: no gate call was refused; is the seeded store used?\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "store_bench: " << e.what() << "\n";
    return 1;
  }
}
