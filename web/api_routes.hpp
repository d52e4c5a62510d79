// The routes of the HTTP suppression API (/api/v1/): method, path template, the statuses each
// can answer and the scope it needs. docs/openapi.yaml describes the same table; a test checks
// that the two agree, and the integration tests draw every status listed here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bouncegate::web {

enum class ApiRoute {
  get_suppression,
  put_suppression,
  delete_suppression,
  list_suppressions,
  check,
  import,
  stats,
  report,
};

struct ApiRouteSpec {
  ApiRoute route;
  const char* method;  // "GET"
  const char* path;    // "/api/v1/suppressions/{address}"
  bool write;          // needs a token of scope write
  std::vector<int> statuses;
};

const std::vector<ApiRouteSpec>& api_routes();

// The route for `method` and `path` (without the query), and the {address} segment decoded;
// nullptr when no route has that path (404) or none has that method (*path_known: 405).
const ApiRouteSpec* match_api_route(std::string_view method, std::string_view path,
                                    std::string* address, bool* path_known);

}  // namespace bouncegate::web
