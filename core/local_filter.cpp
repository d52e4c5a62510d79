// gate.local_filter: build the filter from a SCAN of entry and unsubscription keys, then follow
// the event stream from the id read before the scan, so nothing written meanwhile is missed.
#include "core/local_filter.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "core/bloom_filter.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/redis_pool.hpp"

namespace bouncegate {

namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// SCAN MATCH treats * ? [ ] \ as pattern characters: a key_prefix holding them is escaped, or
// the scan would find nothing and the filter would pass every entry.
std::string glob_escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// "1700000000000-3" -> {1700000000000, 3}; a malformed id compares as the smallest.
std::pair<uint64_t, uint64_t> stream_id(const std::string& id) {
  const size_t dash = id.find('-');
  try {
    return {std::stoull(id.substr(0, dash)),
            dash == std::string::npos ? 0 : std::stoull(id.substr(dash + 1))};
  } catch (const std::exception&) {
    return {0, 0};
  }
}

// "bg:s:{a@b}" -> "a@b"
std::string name_in_key(const std::string& key, size_t prefix_len) {
  const size_t close = key.rfind('}');
  if (close == std::string::npos || close <= prefix_len) return {};
  return key.substr(prefix_len, close - prefix_len);
}

// The events that create or keep an entry or an unsubscription for `addr`.
bool adds_member(const Event& ev) {
  const std::string kind = ev.get("kind"), action = ev.get("action");
  if (kind == "unsubscribe") return true;
  if (kind != "outcome" && kind != "manual") return false;
  return action == "suppress" || action == "suppress_permanent" || action == "defer" ||
         action == "reject";
}

}  // namespace

LocalFilter::LocalFilter(const RedisConfig& redis, const LocalFilterConfig& cfg)
    : redis_(redis), cfg_(cfg) {
  RedisConfig one = redis;
  one.pool_size = 1;
  pool_ = std::make_unique<RedisPool>(one);
}

LocalFilter::~LocalFilter() {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<LocalFilter> LocalFilter::start_if_enabled(const Config& cfg) {
  if (!cfg.gate.local_filter.enabled) return nullptr;
  auto f = std::make_shared<LocalFilter>(cfg.redis, cfg.gate.local_filter);
  f->start();
  return f;
}

void LocalFilter::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

std::string LocalFilter::events_key() const {
  return redis_.key_prefix + "events";
}

bool LocalFilter::may_hold_any(const std::vector<std::string>& names) const {
  std::shared_ptr<BloomFilter> f;
  {
    std::lock_guard lock(mu_);
    // Not built yet, deaf for longer than a few polls, or entries arriving unseen (an import
    // is being written): it stands aside and Redis decides.
    if (!filter_ || stale_ || steady_ms() - heard_ms_ > silence_ms()) return true;
    f = filter_;
  }
  for (const auto& n : names)
    if (f->may_contain(n)) return true;
  return false;
}

void LocalFilter::note(const std::string& name) const {
  std::shared_ptr<BloomFilter> f;
  {
    std::lock_guard lock(mu_);
    f = filter_;
  }
  if (f) f->add(name);  // counted in members when its event arrives
}

bool LocalFilter::stale() const {
  std::lock_guard lock(mu_);
  return stale_;
}

int64_t LocalFilter::silence_ms() const {
  return std::max<int64_t>(10 * cfg_.poll_every.count(), 5000);
}

LocalFilter::Status LocalFilter::status() const {
  std::lock_guard lock(mu_);
  Status s;
  s.ready = filter_ != nullptr;
  s.members = members_;
  s.bytes = filter_ ? filter_->bytes() : 0;
  s.built_ms = built_ms_;
  s.heard_ms = heard_ms_;
  return s;
}

void LocalFilter::rebuild() {
  // The stream position first: every change after it is read by follow().
  RedisValue last = pool_->command({"XREVRANGE", events_key(), "+", "-", "COUNT", "1"});
  std::string from = "0-0";
  if (last.type == RedisValue::array && !last.elements.empty() &&
      !last.elements[0].elements.empty())
    from = last.elements[0].elements[0].str;
  std::vector<std::string> names;
  for (const char* kind : {"s:{", "u:{"}) {
    const std::string prefix = redis_.key_prefix + kind;
    std::string cursor = "0";
    do {
      // A reload drops this filter from the io thread: stop between pages, not after a scan
      // of the whole keyspace.
      {
        std::lock_guard lock(stop_mu_);
        if (stop_) return;
      }
      RedisValue v =
          pool_->command({"SCAN", cursor, "MATCH", glob_escaped(prefix) + "*", "COUNT", "1000"});
      if (v.type != RedisValue::array || v.elements.size() != 2)
        throw StoreError("local filter: bad SCAN reply");
      cursor = v.elements[0].str;
      for (const auto& k : v.elements[1].elements)
        if (auto n = name_in_key(k.str, prefix.size()); !n.empty()) names.push_back(std::move(n));
    } while (cursor != "0");
  }
  // Room to grow: twice what is there now, at least min_capacity.
  auto f = std::make_shared<BloomFilter>(std::max(cfg_.min_capacity, names.size() * 2),
                                         cfg_.false_positive_rate);
  for (const auto& n : names) f->add(n);
  const int64_t now = steady_ms();
  {
    std::lock_guard lock(mu_);
    filter_ = std::move(f);
    last_id_ = from;
    members_ = names.size();
    built_ms_ = heard_ms_ = now;
    stale_ = false;
  }
  Metrics::instance().inc("bouncegate_gate_local_filter_builds_total", {{"result", "ok"}});
  log_event(LogLevel::info, "", "local filter built",
            {{"members", std::to_string(names.size())}, {"bytes", std::to_string(status().bytes)}});
}

void LocalFilter::follow() {
  std::string from;
  std::shared_ptr<BloomFilter> f;
  {
    std::lock_guard lock(mu_);
    from = last_id_;
    f = filter_;
  }
  for (;;) {
    {
      std::lock_guard lock(stop_mu_);
      if (stop_) return;
    }
    // The oldest entry still in the stream, with the read: when the stream was trimmed past
    // where we stopped (MAXLEN ~), changes were lost and only a key scan can tell.
    auto r = pool_->pipeline({{"XRANGE", events_key(), "-", "+", "COUNT", "1"},
                              {"XRANGE", events_key(), "(" + from, "+", "COUNT", "1000"}});
    if (r.size() != 2 || r[0].type != RedisValue::array || r[1].type != RedisValue::array)
      throw StoreError("local filter: bad XRANGE reply");
    const RedisValue& first = r[0];
    const RedisValue& v = r[1];
    if (from != "0-0" && !first.elements.empty() && !first.elements[0].elements.empty() &&
        stream_id(first.elements[0].elements[0].str) > stream_id(from) &&
        (v.elements.empty() || !v.elements[0].elements.empty())) {
      // The first entry after `from` that we can read is the stream's oldest: was anything
      // between them trimmed? Only when `from` itself is gone.
      RedisValue still = pool_->command({"XRANGE", events_key(), from, from});
      if (still.type == RedisValue::array && still.elements.empty()) {
        {
          std::lock_guard lock(mu_);
          stale_ = true;
        }
        rebuild();
        return;
      }
    }
    size_t added = 0;
    bool import_seen = false;
    for (const auto& e : v.elements) {
      if (e.elements.size() != 2) continue;
      Event ev = event_from_stream_entry(e);
      from = ev.id.empty() ? e.elements[0].str : ev.id;
      // Imported rows write no event each: a batch marker (written ahead of its rows) or the
      // import's summary means entries arrived unseen; the keys are read again.
      const std::string kind = ev.get("kind");
      if (kind == "import" || kind == "import-batch") import_seen = true;
      if (adds_member(ev) && !ev.get("addr").empty()) {
        f->add(ev.get("addr"));
        ++added;
      }
    }
    {
      std::lock_guard lock(mu_);
      if (filter_ == f) {
        last_id_ = from;
        members_ += added;
      }
      heard_ms_ = steady_ms();
      if (import_seen) stale_ = true;  // stands aside until the rebuild below is done
    }
    if (import_seen) {
      // Let the import finish writing (its batches keep coming while it runs) before the scan.
      std::unique_lock lock(stop_mu_);
      if (stop_cv_.wait_for(lock, std::chrono::milliseconds(cfg_.poll_every.count() * 2),
                            [this] { return stop_; }))
        return;
      lock.unlock();
      rebuild();
      return;
    }
    if (v.elements.size() < 1000) return;
  }
}

void LocalFilter::run() {
  bool warned = false;
  for (;;) {
    try {
      Status s = status();
      bool due = !s.ready || stale() || steady_ms() - s.built_ms >= cfg_.rebuild_every.count();
      if (due) {
        try {
          rebuild();
        } catch (const std::exception&) {
          // A failed rebuild must not stop the following: the old filter keeps learning.
          if (!s.ready) throw;
          follow();
          throw;
        }
      } else {
        follow();
      }
      warned = false;
    } catch (const std::exception& e) {
      Metrics::instance().inc("bouncegate_gate_local_filter_builds_total", {{"result", "error"}});
      if (!warned)
        log_event(LogLevel::warning, "",
                  "local filter cannot read Redis; it stands aside while "
                  "it hears nothing",
                  {{"error", e.what()}});
      warned = true;
    }
    std::unique_lock lock(stop_mu_);
    if (stop_cv_.wait_for(lock, cfg_.poll_every, [this] { return stop_; })) return;
  }
}

}  // namespace bouncegate
