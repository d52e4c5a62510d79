// One HTTP or HTTPS request (certificate and host name verified against the system's trust
// store or a given CA file), bounded by one deadline. Blocking: webhooks, Entra tokens, ARM.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/config.hpp"  // Millis

namespace bouncegate {

struct HttpUrl {
  bool tls = false;
  std::string host, port, target;
};

// "http://host[:port]/path" or "https://..."; nullopt with `why` otherwise.
std::optional<HttpUrl> parse_http_url(const std::string& url, std::string* why);

struct HttpRequest {
  std::string method = "POST";
  std::map<std::string, std::string> headers;  // Content-Type defaults to application/json
  std::string body;
  Millis timeout{std::chrono::seconds(10)};
  std::string ca_file;              // empty: the system's trust store
  size_t body_limit = 1024 * 1024;  // the answer's body beyond this is an error
};

struct HttpAnswer {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
};

struct HttpTransportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The answer; HttpTransportError when none came (refused, reset, TLS failure, timeout).
HttpAnswer http_request(const HttpUrl& url, const HttpRequest& req);

// application/x-www-form-urlencoded value (RFC 3986 unreserved kept, the rest %XX).
std::string form_encode(const std::string& s);

}  // namespace bouncegate
