// The API's route table and its path matching.
#include "web/api_routes.hpp"

#include "web/http_util.hpp"

namespace bouncegate::web {

const std::vector<ApiRouteSpec>& api_routes() {
  // 401 and 503 everywhere a token and the store are needed; 403 on writes (a read token).
  static const std::vector<ApiRouteSpec> routes = {
      {ApiRoute::get_suppression,
       "GET",
       "/api/v1/suppressions/{address}",
       false,
       {200, 400, 401, 404, 503}},
      {ApiRoute::put_suppression,
       "PUT",
       "/api/v1/suppressions/{address}",
       true,
       {200, 400, 401, 403, 503}},
      {ApiRoute::delete_suppression,
       "DELETE",
       "/api/v1/suppressions/{address}",
       true,
       {200, 400, 401, 403, 404, 503}},
      {ApiRoute::list_suppressions, "GET", "/api/v1/suppressions", false, {200, 400, 401, 503}},
      {ApiRoute::check, "POST", "/api/v1/suppressions:check", false, {200, 400, 401, 413, 503}},
      {ApiRoute::import,
       "POST",
       "/api/v1/suppressions:import",
       true,
       {200, 400, 401, 403, 413, 503}},
      {ApiRoute::stats, "GET", "/api/v1/stats", false, {200, 400, 401, 503}},
      {ApiRoute::report, "GET", "/api/v1/report", false, {200, 400, 401, 503}},
  };
  return routes;
}

namespace {

// "/api/v1/suppressions/{address}" against a concrete path: the segment after the prefix,
// one segment only.
bool matches(std::string_view tmpl, std::string_view path, std::string* address) {
  size_t brace = tmpl.find('{');
  if (brace == std::string_view::npos) return tmpl == path;
  std::string_view prefix = tmpl.substr(0, brace);
  if (path.substr(0, prefix.size()) != prefix || path.size() == prefix.size()) return false;
  std::string_view seg = path.substr(prefix.size());
  if (seg.find('/') != std::string_view::npos) return false;
  *address = percent_decode(seg, false);
  return true;
}

}  // namespace

const ApiRouteSpec* match_api_route(std::string_view method, std::string_view path,
                                    std::string* address, bool* path_known) {
  *path_known = false;
  for (const auto& r : api_routes()) {
    std::string a;
    if (!matches(r.path, path, &a)) continue;
    *path_known = true;
    if (method == r.method) {
      *address = a;
      return &r;
    }
  }
  return nullptr;
}

}  // namespace bouncegate::web
