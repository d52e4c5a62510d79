// One signed webhook POST over HTTP or HTTPS (certificate and host name verified against the
// system's trust store), bounded by a timeout. Blocking; used by the delivery thread only.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/config.hpp"  // Millis

namespace bouncegate::web {

struct WebhookUrl {
  bool tls = false;
  std::string host, port, target;
};

// "http://host[:port]/path" or "https://..."; nullopt with `why` otherwise.
std::optional<WebhookUrl> parse_webhook_url(const std::string& url, std::string* why);

struct WebhookTransportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The HTTP status of the answer; WebhookTransportError when no answer came (refused, reset,
// TLS failure, timeout).
int post_webhook(const WebhookUrl& url, const std::map<std::string, std::string>& headers,
                 const std::string& body, Millis timeout);

}  // namespace bouncegate::web
