// Events to webhook changes, their bodies and signatures.
#include "core/webhook_change.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>

#include "core/clock.hpp"
#include "core/json.hpp"

namespace bouncegate {

std::optional<std::string> webhook_change(const Event& ev) {
  const std::string kind = ev.get("kind"), action = ev.get("action");
  if (kind == "outcome" || kind == "manual") {
    if (action == "reject") return "unsubscribed";
    if (action == "suppress" || action == "defer" || action == "suppress_permanent")
      return ev.get("class") == "complaint" ? "complaint" : "suppressed";
    return std::nullopt;  // recorded, not acted on
  }
  if (kind == "gate") {
    // A hit during a lease steps it up; a shadow ask, a pass, an unsubscribe hit or a hit on a
    // domain entry (never stepped) changes nothing.
    if (ev.get("dry_run") == "1" || !ev.get("entry").empty()) return std::nullopt;
    const std::string r = ev.get("result");
    if ((r == "reject" || r == "defer") && (action == "suppress" || action == "defer"))
      return "escalated";
    return std::nullopt;
  }
  if (kind == "remove")
    return ev.get("removed") == "0" ? std::nullopt : std::optional<std::string>("released");
  if (kind == "resubscribe")
    return ev.get("removed") == "0" ? std::nullopt : std::optional<std::string>("resubscribed");
  if (kind == "unsubscribe")
    return ev.get("new") == "0" ? std::nullopt : std::optional<std::string>("unsubscribed");
  if (kind == "expired") return "expired";
  if (kind == "import") return "imported";
  return std::nullopt;
}

std::string webhook_body(const Event& ev, const std::string& change) {
  JsonObject o;
  o.add("id", ev.id).add("change", change).add("address", ev.get("addr"));
  o.add("occurred_at", utc_iso(ev.ts_ms));
  for (const char* k : {"class", "action", "level", "list", "code", "source", "reason", "rows"})
    if (auto v = ev.get(k); !v.empty()) o.add(k, v);
  return o.str();
}

std::string webhook_signature(std::string_view secret, int64_t timestamp, std::string_view body) {
  std::string msg = std::to_string(timestamp) + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  std::string hex;
  char b[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", mac[i]);
    hex += b;
  }
  return hex;
}

int64_t webhook_backoff_ms(int attempt, int64_t backoff_ms, int64_t max_ms) {
  int64_t w = backoff_ms;
  for (int i = 1; i < attempt && w < max_ms; ++i) w *= 2;
  return w < max_ms ? w : max_ms;
}

}  // namespace bouncegate
