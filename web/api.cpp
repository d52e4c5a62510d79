// /api/v1/: authentication, dispatch and the handlers. Every change goes through the store's
// scripts with the token's name as the event source ("api:NAME"); a store failure is 503 with
// Retry-After, never a guess.
#include "web/api.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <set>
#include <sstream>

#include "core/address.hpp"
#include "core/clock.hpp"
#include "core/entry_json.hpp"
#include "core/escape.hpp"
#include "core/event_filter.hpp"
#include "core/import_row.hpp"
#include "core/json.hpp"
#include "core/json_parse.hpp"
#include "core/log.hpp"
#include "core/policy.hpp"
#include "core/stats_tally.hpp"
#include "core/unsubscribe.hpp"
#include "web/api_routes.hpp"
#include "web/http_util.hpp"

namespace bouncegate::web {
namespace {

constexpr const char* kRetryAfterSeconds = "30";

// Refusals carry {"error": {"code": STABLE_CODE, "message": TEXT}}.
Response api_error(http::status status, unsigned version, const std::string& code,
                   const std::string& message) {
  Response res = json_response(
      status, version,
      JsonObject()
          .add_raw("error", JsonObject().add("code", code).add("message", message).str())
          .str());
  if (status == http::status::service_unavailable)
    res.set(http::field::retry_after, kRetryAfterSeconds);
  if (status == http::status::unauthorized)
    res.set(http::field::www_authenticate, "Bearer realm=\"bouncegate\"");
  return res;
}

bool is_bearer(std::string_view v) {
  static constexpr std::string_view kScheme = "bearer ";
  if (v.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(v[i])) != kScheme[i]) return false;
  return true;
}

struct BadRequest {
  std::string code, message;
};

// The token that opens this request: every configured token is compared (constant time each,
// no early exit), so timing says nothing about which one or how much matched.
const ApiToken* authenticate(const WebState& st, const Request& req, bool* had_header) {
  auto h = req.find(http::field::authorization);
  *had_header = h != req.end();
  if (!*had_header) return nullptr;
  std::string_view v(h->value().data(), h->value().size());
  if (!is_bearer(v)) return nullptr;
  std::string_view given = v.substr(7);
  const ApiToken* found = nullptr;
  for (const auto& t : st.config->web.api.tokens)
    if (secret_matches(given, t.secret) && !found) found = &t;
  return found;
}

int64_t time_param(const std::map<std::string, std::string>& q, const std::string& name,
                   int64_t def) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty()) return def;
  if (auto d = parse_duration(it->second)) return now_ms() - d->count();
  if (auto t = parse_utc_time(it->second)) return *t;
  throw BadRequest{"bad_parameter", name +
                                        " is a duration (7d) or a UTC time "
                                        "(2026-11-27T10:00:00Z)"};
}

std::string need_param_class(const std::map<std::string, std::string>& q) {
  auto it = q.find("class");
  if (it == q.end() || it->second.empty()) return "";
  if (!outcome_class_from(it->second)) throw BadRequest{"bad_parameter", "unknown class"};
  return it->second;
}

std::string entry_name(const std::string& raw) {
  std::string why;
  auto a = normalize_entry_address(raw, &why);
  if (!a) throw BadRequest{"bad_address", "not a usable address or *@domain: " + why};
  return a->address;
}

EventContext api_context(const ApiToken& t) {
  EventContext ec;
  ec.source = Source::api;
  ec.actor = t.name;
  return ec;
}

std::string decision_json(const std::string& address, const GateDecision& d) {
  JsonObject o;
  o.add("address", address).add("decision", to_string(d.result));
  if (d.result == GateResult::unsubscribed) o.add("class", "unsubscribe").add("list", d.list);
  if (d.entry) {
    o.add("class", to_string(d.entry->cls)).add("entry", d.entry->address);
    o.add("ttl_seconds", d.entry->ttl_ms < 0 ? int64_t(-1) : d.entry->ttl_ms / 1000);
  }
  return o.str();
}

Response get_suppression(const WebState& st, unsigned v, const std::string& raw) {
  std::string addr = entry_name(raw);
  auto e = st.store->get(addr);
  auto unsubs = st.store->unsubscription_list(addr);
  if (!e && unsubs.empty())
    return api_error(http::status::not_found, v, "not_found", "no entry and no unsubscription");
  JsonObject o;
  o.add("address", addr).add("suppressed", e.has_value());
  if (e) o.add_raw("entry", entry_json(*e));
  o.add_raw("unsubscriptions", unsubscriptions_json(unsubs));
  return json_response(http::status::ok, v, o.str());
}

// The body is the same row an import takes (class, reason, code, list, subdomains,
// ttl_seconds or lease, permanent), checked by the same function.
Response put_suppression(const WebState& st, const Request& req, const ApiToken& t,
                         const std::string& raw, const std::string& session) {
  unsigned v = req.version();
  std::string addr = entry_name(raw);
  std::string why;
  auto body = parse_json(req.body().empty() ? "{}" : req.body(), &why);
  if (!body || !body->is_object()) throw BadRequest{"bad_body", body ? "expected an object" : why};
  static const std::set<std::string> known = {"class",      "reason", "code",      "list",
                                              "subdomains", "lease",  "permanent", "ttl_seconds"};
  Row row;
  row["address"] = addr;
  for (const auto& [k, m] : body->members) {
    if (!known.count(k)) throw BadRequest{"bad_body", "unknown member '" + escape_control(k) + "'"};
    if (m.type == JsonValue::Type::boolean)
      row[k] = m.boolean ? "true" : "false";
    else if (m.type == JsonValue::Type::string || m.type == JsonValue::Type::number)
      row[k] = m.text;
    else
      throw BadRequest{"bad_body", k + " must be a string, number or boolean"};
  }
  if (row.count("lease")) {
    auto d = parse_duration(row["lease"]);
    if (!d || d->count() <= 0) throw BadRequest{"bad_body", "lease is a duration like 7d"};
    row["ttl_seconds"] = std::to_string(d->count() / 1000);
    row.erase("lease");
  }
  if (row.count("permanent")) {
    if (row["permanent"] == "true") row["action"] = "suppress_permanent";
    row.erase("permanent");
  }
  if (!row.count("reason")) row["reason"] = "added with API token " + t.name;
  const bool lease_asked = row.count("ttl_seconds") && row["ttl_seconds"] != "-1";
  auto o = record_for_row(*st.config, row, &why);
  if (!o) throw BadRequest{"bad_body", why};
  if (lease_asked && o->action == Action::suppress_permanent)
    throw BadRequest{"bad_body", "class " + std::string(to_string(o->cls)) +
                                     " suppresses permanently: a lease does not apply"};
  o->origin = RecordOrigin::manual;
  o->rule = "manual";
  o->ctx = api_context(t);
  st.store->record(*o);
  auto e = st.store->get(addr);  // the whole entry (reason, subdomains), as GET shows it
  log_event(LogLevel::info, session, "api suppression set",
            {{"token", t.name}, {"address", addr}, {"class", std::string(to_string(o->cls))}});
  JsonObject out;
  out.add("address", addr);
  if (o->action == Action::reject) {
    out.add("unsubscribed", o->list);
  } else if (e) {
    out.add_raw("entry", entry_json(*e));
  }
  return json_response(http::status::ok, v, out.str());
}

Response delete_suppression(const WebState& st, unsigned v, const ApiToken& t,
                            const std::string& raw, const std::map<std::string, std::string>& q,
                            const std::string& session) {
  std::string addr = entry_name(raw);
  bool removed = false;
  auto list = q.find("list");
  if (list != q.end() && !list->second.empty())
    removed = st.store->resubscribe(addr, list->second, api_context(t));
  else
    removed = st.store->remove(addr, api_context(t));
  log_event(LogLevel::info, session, "api suppression released",
            {{"token", t.name}, {"address", addr}, {"removed", removed ? "yes" : "no"}});
  if (!removed) return api_error(http::status::not_found, v, "not_found", "nothing to release");
  return json_response(http::status::ok, v,
                       JsonObject().add("address", addr).add("removed", true).str());
}

Response list_suppressions(const WebState& st, unsigned v,
                           const std::map<std::string, std::string>& q) {
  const ApiConfig& ac = st.config->web.api;
  ScanFilter f;
  f.cls = need_param_class(q);
  if (auto it = q.find("source"); it != q.end()) f.source = it->second;
  if (auto it = q.find("domain"); it != q.end() && !it->second.empty())
    f.domain = domain_of(entry_name("*@" + it->second));
  f.since_ms = time_param(q, "since", 0);
  size_t limit = ac.page_size;
  if (auto it = q.find("limit"); it != q.end()) {
    char* end = nullptr;
    long n = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end || n < 1 || n > 1000)
      throw BadRequest{"bad_parameter", "limit is 1 to 1000"};
    limit = static_cast<size_t>(n);
  }
  std::string cursor = "0";
  if (auto it = q.find("cursor"); it != q.end() && !it->second.empty()) {
    errno = 0;
    char* end = nullptr;
    std::strtoull(it->second.c_str(), &end, 10);
    if (it->second.find_first_not_of("0123456789") != std::string::npos || *end || errno)
      throw BadRequest{"bad_parameter", "cursor is the next_cursor of the previous page"};
    cursor = it->second;
  }
  EntryPage page = st.store->scan_page(f, cursor, limit);
  std::string items = "[";
  for (const auto& e : page.entries) items += (items.size() > 1 ? "," : "") + entry_json(e);
  items += "]";
  JsonObject o;
  o.add_raw("items", items);
  if (page.next_cursor == "0")
    o.add_raw("next_cursor", "null");
  else
    o.add("next_cursor", page.next_cursor);
  return json_response(http::status::ok, v, o.str());
}

// {"addresses": [...], "list": "news"}: one pipelined round trip for the whole batch.
Response check(const WebState& st, const Request& req) {
  unsigned v = req.version();
  std::string why;
  auto body = parse_json(req.body(), &why);
  if (!body || !body->is_object()) throw BadRequest{"bad_body", body ? "expected an object" : why};
  const JsonValue* addrs = body->find("addresses");
  if (!addrs || !addrs->is_array()) throw BadRequest{"bad_body", "addresses must be an array"};
  if (addrs->items.size() > st.config->web.api.max_batch)
    return api_error(
        http::status::payload_too_large, v, "batch_too_large",
        "at most " + std::to_string(st.config->web.api.max_batch) + " addresses per request");
  std::string list, bypass;
  if (const JsonValue* l = body->find("list")) {
    if (!l->is_string()) throw BadRequest{"bad_body", "list must be a string"};
    list = l->text;
  }
  // "sender": the envelope sender the mail will have; its policy (config `policies`) applies
  // as it would at the gate, with the list its sender glob names when none is given.
  if (const JsonValue* s = body->find("sender")) {
    if (!s->is_string()) throw BadRequest{"bad_body", "sender must be a string"};
    auto n = normalize_address(s->text, &why);
    if (!n) throw BadRequest{"bad_address", "sender: " + why};
    if (list.empty())
      if (const auto* l = list_for_sender(st.config->unsubscribe, n->address)) list = l->id;
    bypass = gate_bypass(policy_for(st.config->policies, policy_sender(s->text, n->address), list));
  }
  std::vector<std::string> asked, canonical;
  std::vector<std::string> invalid(addrs->items.size());
  for (size_t i = 0; i < addrs->items.size(); ++i) {
    const JsonValue& a = addrs->items[i];
    if (!a.is_string()) throw BadRequest{"bad_body", "addresses must be strings"};
    auto n = normalize_address(a.text, &why);
    if (!n) {
      invalid[i] = why;
      continue;
    }
    asked.push_back(a.text);
    canonical.push_back(n->address);
  }
  auto decisions = st.store->check(canonical, list, bypass);
  std::string results = "[";
  size_t k = 0;
  for (size_t i = 0; i < addrs->items.size(); ++i) {
    std::string item;
    if (!invalid[i].empty())
      item = JsonObject()
                 .add("address", addrs->items[i].text)
                 .add("decision", "invalid")
                 .add("reason", invalid[i])
                 .str();
    else
      item = decision_json(canonical[k], decisions[k]), ++k;
    results += (results.size() > 1 ? "," : "") + item;
  }
  results += "]";
  return json_response(http::status::ok, v, JsonObject().add_raw("results", results).str());
}

// NDJSON, one row per line as `export --format json` writes them: every line is checked first,
// nothing is written when any is bad.
Response import(const WebState& st, const Request& req, const ApiToken& t,
                const std::string& session) {
  unsigned v = req.version();
  std::istringstream in(req.body());
  std::string line, why;
  std::vector<OutcomeRecord> rows;
  std::string errors = "[";
  size_t n = 0, bad = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (rows.size() >= st.config->web.api.max_batch)
      return api_error(
          http::status::payload_too_large, v, "batch_too_large",
          "at most " + std::to_string(st.config->web.api.max_batch) + " rows per request");
    std::optional<OutcomeRecord> o;
    if (auto row = row_from_json_line(line, &why)) o = record_for_row(*st.config, *row, &why);
    if (!o) {
      if (++bad <= 100)
        errors += (errors.size() > 1 ? "," : "") +
                  JsonObject().add("line", static_cast<int64_t>(n)).add("error", why).str();
      continue;
    }
    o->ctx = api_context(t);
    rows.push_back(std::move(*o));
  }
  if (bad > 0)
    return json_response(http::status::bad_request, v,
                         JsonObject()
                             .add_raw("error", JsonObject()
                                                   .add("code", "bad_rows")
                                                   .add("message", std::to_string(bad) +
                                                                       " bad rows, nothing written")
                                                   .str())
                             .add_raw("rows", errors + "]")
                             .str());
  size_t written = st.store->record_batch(rows);
  st.store->log_import("api", written, api_context(t));
  log_event(LogLevel::info, session, "api import",
            {{"token", t.name}, {"rows", std::to_string(written)}});
  return json_response(http::status::ok, v,
                       JsonObject().add("imported", static_cast<int64_t>(written)).str());
}

// The CLI's `stats --by domain` figures (core/stats_tally.hpp), one object per domain.
Response stats(const WebState& st, unsigned v, const std::map<std::string, std::string>& q) {
  int64_t until = time_param(q, "until", now_ms());
  int64_t since = time_param(q, "since", until - 7 * 86'400'000ll);
  if (since > until) throw BadRequest{"bad_parameter", "since is after until"};
  std::string domain;
  if (auto it = q.find("domain"); it != q.end() && !it->second.empty())
    domain = domain_of(entry_name("*@" + it->second));
  std::string domains = "[";
  for (const auto& [d, hours] : st.store->stats_by_hour(since, until, domain)) {
    Tally t;
    for (const auto& [h, m] : hours)
      for (const auto& [c, n] : m) t.add(c, n);
    JsonObject o;
    o.add("domain", d);
    add_tally_fields(o, t);
    domains += (domains.size() > 1 ? "," : "") + o.str();
  }
  domains += "]";
  return json_response(http::status::ok, v,
                       JsonObject()
                           .add("since", utc_iso(since))
                           .add("until", utc_iso(until))
                           .add_raw("domains", domains)
                           .str());
}

// The CLI's `report --format json` events (core/event_filter.hpp), oldest first.
Response report(const WebState& st, unsigned v, const std::map<std::string, std::string>& q) {
  EventFilter f;
  f.until = time_param(q, "until", now_ms());
  f.since = time_param(q, "since", f.until - 7 * 86'400'000ll);
  f.cls = need_param_class(q);
  if (auto it = q.find("source"); it != q.end()) f.source = it->second;
  if (auto it = q.find("domain"); it != q.end() && !it->second.empty())
    f.domain = domain_of(entry_name("*@" + it->second));
  if (auto it = q.find("address"); it != q.end() && !it->second.empty())
    f.address = entry_name(it->second);
  // The newest 10,000 events of the window (oldest first), read in constant memory. The
  // stream is ordered by the time an event was recorded, which is at most 30 days after the
  // outcome's own time (ts, what the filter reads).
  std::deque<std::string> kept;
  size_t n = 0;
  st.store->for_each_event(f.since, f.until + 31 * 86'400'000ll, [&](const Event& ev) {
    if (!f.keep(ev)) return true;
    ++n;
    kept.push_back(event_json(ev));
    if (kept.size() > 10'000) kept.pop_front();
    return true;
  });
  std::string events = "[";
  for (const auto& j : kept) events += (events.size() > 1 ? "," : "") + j;
  events += "]";
  return json_response(http::status::ok, v,
                       JsonObject().add_raw("events", events).add("truncated", n > 10'000).str());
}

}  // namespace

bool is_api_path(std::string_view path) {
  return path.rfind("/api/", 0) == 0;
}

Response handle_api(const WebState& st, const Request& req, std::string_view path,
                    std::string_view query, const std::string& session) {
  unsigned v = req.version();
  if (st.config->web.api.tokens.empty())
    return api_error(http::status::not_found, v, "api_off", "the API has no tokens configured");
  std::string address;
  bool path_known = false;
  std::string_view method(req.method_string().data(), req.method_string().size());
  const ApiRouteSpec* r = match_api_route(method, path, &address, &path_known);
  if (!r) {
    if (!path_known) return api_error(http::status::not_found, v, "no_route", "no such route");
    Response res = api_error(http::status::method_not_allowed, v, "method_not_allowed",
                             "this route does not take " + std::string(method));
    return res;
  }
  bool had_header = false;
  const ApiToken* t = authenticate(st, req, &had_header);
  if (!t) {
    log_event(LogLevel::notice, session, "api request refused",
              {{"reason", had_header ? "invalid token" : "no token"}});
    return api_error(
        http::status::unauthorized, v, had_header ? "invalid_token" : "no_token",
        had_header ? "the bearer token is not valid" : "send Authorization: Bearer TOKEN");
  }
  if (r->write && !t->write)
    return api_error(http::status::forbidden, v, "insufficient_scope",
                     "token " + t->name + " has scope read; this route needs write");
  auto q = parse_pairs(query);
  try {
    switch (r->route) {
      case ApiRoute::get_suppression:
        return get_suppression(st, v, address);
      case ApiRoute::put_suppression:
        return put_suppression(st, req, *t, address, session);
      case ApiRoute::delete_suppression:
        return delete_suppression(st, v, *t, address, q, session);
      case ApiRoute::list_suppressions:
        return list_suppressions(st, v, q);
      case ApiRoute::check:
        return check(st, req);
      case ApiRoute::import:
        return import(st, req, *t, session);
      case ApiRoute::stats:
        return stats(st, v, q);
      case ApiRoute::report:
        return report(st, v, q);
    }
  } catch (const BadRequest& e) {
    return api_error(http::status::bad_request, v, e.code, e.message);
  } catch (const StoreError& e) {
    log_event(LogLevel::error, session, "store unavailable", {{"error", e.what()}});
    return api_error(http::status::service_unavailable, v, "store_unavailable",
                     "the suppression store did not answer; retrying is safe");
  }
  return api_error(http::status::not_found, v, "no_route", "no such route");
}

}  // namespace bouncegate::web
