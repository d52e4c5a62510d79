// The webhook delivery loop and the expiry sweep.
#include "web/webhooks.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "core/change_feed.hpp"
#include "core/host_name.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/webhook_change.hpp"

namespace bouncegate::web {

namespace {
constexpr size_t kBatch = 100;
constexpr auto kIdle = std::chrono::milliseconds(100);
}  // namespace

void WebhookDeliverer::start() {
  consumer_ = host_name();
  thread_ = std::thread([this] { run(); });
}

void WebhookDeliverer::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void WebhookDeliverer::run() {
  auto next_sweep = std::chrono::steady_clock::now();
  bool down = false;
  while (!stopping_) {
    auto st = snapshot_();
    const WebhookConfig& wc = st->config->webhooks;
    try {
      if (std::chrono::steady_clock::now() >= next_sweep) {
        size_t n = st->store->sweep_expired(1000);
        if (n) log_event(LogLevel::info, "", "leases expired", {{"count", std::to_string(n)}});
        next_sweep = std::chrono::steady_clock::now() + wc.expiry_sweep;
      }
      for (const auto& ep : wc.endpoints) {
        if (stopping_) break;
        pass(*st, ep.name, [&](const Event& ev) { return attempt(*st, ep, ev); });
      }
      // ACS's customer-managed suppression lists are one more consumer of the same changes.
      if (!stopping_ && st->config->acs.suppression_lists.push)
        pass(*st, kAcsPushGroup, [&](const Event& ev) { return acs_.attempt(*st, ev); });
      if (down) log_event(LogLevel::notice, "", "webhooks: suppression store reachable again");
      down = false;
    } catch (const StoreError& e) {
      // The groups are made again next pass: after a Redis restart without persistence they
      // are gone (NOGROUP), and creating an existing one is harmless.
      groups_ready_.clear();
      if (!down)
        log_event(LogLevel::warning, "", "webhooks: suppression store unavailable",
                  {{"error", e.what()}});
      down = true;
    }
    std::this_thread::sleep_for(kIdle);
  }
}

void WebhookDeliverer::pass(const WebState& st, const std::string& name,
                            const std::function<bool(const Event&)>& attempt) {
  ChangeFeed& feed = *st.feed;
  const WebhookConfig& wc = st.config->webhooks;
  const std::string group = "webhook:" + name;
  const std::string consumer = wc.consumer.empty() ? consumer_ : wc.consumer;
  if (!groups_ready_.count(group)) {
    feed.ensure_group(group);
    groups_ready_.insert(group);
  }
  // Retries first: every pending entry whose backoff has passed (entries of a consumer that
  // died are taken over the same way).
  for (const auto& p : feed.pending(group, kBatch)) {
    if (stopping_) return;
    if (p.deliveries >= wc.max_attempts) {
      if (auto ev = feed.claim(group, consumer, p.id, p.idle_ms)) {
        feed.dead_letter(group, *ev, std::to_string(p.deliveries) + " attempts failed");
        Metrics::instance().inc("bouncegate_webhook_dead_letters_total", {{"endpoint", name}});
        log_event(
            LogLevel::error, "", "webhook given up",
            {{"endpoint", name}, {"event_id", p.id}, {"attempts", std::to_string(p.deliveries)}});
      }
      continue;
    }
    int64_t wait = webhook_backoff_ms(p.deliveries, wc.backoff.count(), wc.backoff_max.count());
    if (p.idle_ms < wait) continue;
    auto ev = feed.claim(group, consumer, p.id, wait);
    if (!ev) continue;
    if (!attempt(*ev)) return;  // the endpoint is failing: no more of it this pass
    feed.ack(group, ev->id);
  }
  for (const auto& ev : feed.read_new(group, consumer, kBatch)) {
    if (stopping_) return;  // left pending: delivered after the restart
    // On a failure the rest stays pending (read, not acknowledged) and is retried after the
    // backoff: one failing endpoint costs one timeout per pass, not one per change.
    if (!attempt(ev)) return;
    feed.ack(group, ev.id);
  }
}

bool WebhookDeliverer::attempt(const WebState& st, const WebhookEndpoint& ep, const Event& ev) {
  auto change = webhook_change(ev);
  if (!change) return true;
  if (!ep.changes.empty() &&
      std::find(ep.changes.begin(), ep.changes.end(), *change) == ep.changes.end())
    return true;
  std::string why;
  auto url = parse_http_url(ep.url, &why);
  if (!url) return false;  // refused at load; kept pending rather than lost
  const std::string body = webhook_body(ev, *change);
  const int64_t ts = now_ms() / 1000;
  std::map<std::string, std::string> headers = {
      {"Bouncegate-Timestamp", std::to_string(ts)},
      {"Bouncegate-Signature", "v1=" + webhook_signature(ep.secret, ts, body)},
      {"Bouncegate-Event-Id", ev.id},
      {"Bouncegate-Change", *change}};
  std::string result;
  try {
    HttpRequest req;
    req.headers = std::move(headers);
    req.body = body;
    req.timeout = st.config->webhooks.timeout;
    req.body_limit = 64 * 1024;  // the answer's body is not used; bounded anyway
    int status = http_request(*url, req).status;
    result = status >= 200 && status < 300 ? "ok" : "http_" + std::to_string(status / 100) + "xx";
    if (result != "ok")
      log_event(LogLevel::warning, "", "webhook refused",
                {{"endpoint", ep.name}, {"event_id", ev.id}, {"status", std::to_string(status)}});
  } catch (const HttpTransportError& e) {
    result = "transport_error";
    log_event(LogLevel::warning, "", "webhook failed",
              {{"endpoint", ep.name}, {"event_id", ev.id}, {"error", e.what()}});
  }
  Metrics::instance().inc("bouncegate_webhook_deliveries_total",
                          {{"endpoint", ep.name}, {"result", result}});
  if (result == "ok")
    log_event(LogLevel::info, "", "webhook delivered",
              {{"endpoint", ep.name}, {"event_id", ev.id}, {"change", *change}});
  return result == "ok";
}

}  // namespace bouncegate::web
