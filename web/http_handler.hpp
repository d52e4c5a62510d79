// The HTTP decisions of bouncegate-web: request in, response out. No sockets here; the only
// side effects are store calls (unsubscribe, outcome records, event de-duplication).
#pragma once

#include <boost/beast/http.hpp>
#include <memory>
#include <string>

#include "core/change_feed.hpp"
#include "core/config.hpp"
#include "core/store.hpp"
#include "core/unsubscribe.hpp"

namespace bouncegate::web {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Everything a request is answered from: one immutable snapshot per configuration (re)load.
struct WebState {
  std::shared_ptr<const Config> config;
  TokenKeyring keyring;
  std::shared_ptr<SuppressionStore> store;
  std::shared_ptr<ChangeFeed> feed;  // the event stream as webhooks read it
};

// Loads the configuration and the token keys named in it; throws ConfigError.
std::shared_ptr<const WebState> load_web_state(const std::string& config_path);

// `session` is the id that leads this request's log lines.
Response handle_request(const WebState& state, const Request& req, const std::string& session);

// A plain-text answer for requests refused before they reach handle_request (too large,
// malformed headers).
Response plain_response(http::status status, unsigned version, const std::string& text);

}  // namespace bouncegate::web
