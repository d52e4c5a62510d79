// gate.local_filter: build the filter from a SCAN of entry and unsubscription keys, then follow
// the event stream from the id read before the scan, so nothing written meanwhile is missed.
#include "core/local_filter.hpp"

#include <chrono>

#include "core/bloom_filter.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/redis_pool.hpp"

namespace bouncegate {

namespace {

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
    // Not built yet, or deaf for too long: it stands aside and Redis decides.
    if (!filter_ || now_ms() - heard_ms_ > cfg_.rebuild_every.count()) return true;
    f = filter_;
  }
  for (const auto& n : names)
    if (f->may_contain(n)) return true;
  return false;
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
      RedisValue v = pool_->command({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"});
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
  const int64_t now = now_ms();
  {
    std::lock_guard lock(mu_);
    filter_ = std::move(f);
    last_id_ = from;
    members_ = names.size();
    built_ms_ = heard_ms_ = now;
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
  bool again = false;
  do {
    RedisValue v = pool_->command({"XRANGE", events_key(), "(" + from, "+", "COUNT", "1000"});
    if (v.type != RedisValue::array) throw StoreError("local filter: bad XRANGE reply");
    size_t added = 0;
    bool import_seen = false;
    for (const auto& e : v.elements) {
      if (e.elements.size() != 2) continue;
      Event ev = event_from_stream_entry(e);
      from = ev.id.empty() ? e.elements[0].str : ev.id;
      // An import writes one summary event, not one per row: read the keys again.
      if (ev.get("kind") == "import") import_seen = true;
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
      heard_ms_ = now_ms();
    }
    if (import_seen) {
      rebuild();
      return;
    }
    again = v.elements.size() == 1000;
  } while (again);
}

void LocalFilter::run() {
  bool warned = false;
  for (;;) {
    try {
      Status s = status();
      if (!s.ready || now_ms() - s.built_ms >= cfg_.rebuild_every.count())
        rebuild();
      else
        follow();
      warned = false;
    } catch (const std::exception& e) {
      Metrics::instance().inc("bouncegate_gate_local_filter_builds_total", {{"result", "error"}});
      if (!warned)
        log_event(LogLevel::warning, "",
                  "local filter cannot read Redis; it stands aside after "
                  "rebuild_every without news",
                  {{"error", e.what()}});
      warned = true;
    }
    std::unique_lock lock(stop_mu_);
    if (stop_cv_.wait_for(lock, cfg_.poll_every, [this] { return stop_; })) return;
  }
}

}  // namespace bouncegate
