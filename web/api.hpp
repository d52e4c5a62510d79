// The HTTP suppression API (/api/v1/): bearer-token authentication with read and write scopes,
// JSON errors with stable codes, and the routes of web/api_routes.hpp on the store.
#pragma once

#include <string>
#include <string_view>

#include "web/http_handler.hpp"

namespace bouncegate::web {

// True for paths under /api/.
bool is_api_path(std::string_view path);

Response handle_api(const WebState& st, const Request& req, std::string_view path,
                    std::string_view query, const std::string& session);

}  // namespace bouncegate::web
