// Routing and the two endpoints: /u/TOKEN (RFC 8058 one-click unsubscribe and its page) and
// /acs/events (Event Grid webhook). GET never changes state: mail scanners follow links.
#include "web/http_handler.hpp"

#include <cctype>
#include <map>

#include "core/address.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "web/acs_events.hpp"
#include "web/api.hpp"
#include "web/http_util.hpp"

namespace bouncegate::web {

std::shared_ptr<const WebState> load_web_state(const std::string& config_path) {
  auto s = std::make_shared<WebState>();
  s->config = load_config(config_path);
  s->keyring = TokenKeyring::load(s->config->unsubscribe.key_files);
  s->store = std::make_shared<SuppressionStore>(s->config->redis, s->config->suppression);
  s->feed = std::make_shared<ChangeFeed>(s->config->redis);
  return s;
}

Response plain_response(http::status status, unsigned version, const std::string& text) {
  Response res{status, version};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.body() = text + "\n";
  res.prepare_payload();
  return res;
}

namespace {

constexpr const char* kRetryAfterSeconds = "30";

std::string html_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

Response html_response(http::status status, unsigned version, const std::string& title,
                       const std::string& body_html) {
  Response res{status, version};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  // The token is in the URL: never leak it to other sites, never frame the page.
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Content-Security-Policy",
          "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
          "frame-ancestors 'none'");
  res.body() =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"robots\" content=\"noindex\">\n<title>" +
      html_escape(title) +
      "</title>\n<style>body{font-family:sans-serif;max-width:36em;margin:2em auto;padding:0 1em;"
      "line-height:1.5}button{font-size:1.1em;padding:.5em 1.2em}fieldset{border:0;padding:0}"
      "</style>\n</head>\n<body>\n<main>\n<h1>" +
      html_escape(title) + "</h1>\n" + body_html + "</main>\n</body>\n</html>\n";
  res.prepare_payload();
  return res;
}

std::string list_name(const std::string& list) {
  return list.empty() || list == "*" ? std::string("all mailing lists") : "the list " + list;
}

Response store_unavailable(unsigned version) {
  Response res =
      plain_response(http::status::service_unavailable, version,
                     "The suppression store did not confirm the write, so it may or may not "
                     "have been recorded. Retrying is safe: each event and unsubscribe is "
                     "recorded once.");
  res.set(http::field::retry_after, kRetryAfterSeconds);
  return res;
}

// The token from "/u/TOKEN"; empty when the path is not of that shape.
std::string token_from_path(std::string_view path) {
  if (path.rfind("/u/", 0) != 0) return "";
  std::string_view t = path.substr(3);
  if (t.empty() || t.size() > 1024) return "";
  for (char c : t)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return "";
  return std::string(t);
}

Response handle_unsubscribe(const WebState& st, const Request& req, const std::string& token,
                            const std::string& session) {
  unsigned v = req.version();
  if (req.method() != http::verb::get && req.method() != http::verb::post) {
    Response res = plain_response(http::status::method_not_allowed, v, "Use GET or POST.");
    res.set(http::field::allow, "GET, POST");
    return res;
  }
  if (st.keyring.empty())
    return plain_response(http::status::not_found, v, "Unsubscribe links are not served here.");
  std::string why;
  int64_t max_age_s = st.config->unsubscribe.token_max_age.count() / 1000;
  auto claims = st.keyring.open(token, now_ms() / 1000, max_age_s, &why);
  std::optional<NormalizedAddress> addr;
  if (claims) addr = normalize_address(claims->address, &why);
  if (!claims || !addr) {
    log_event(LogLevel::notice, session, "unsubscribe link refused", {{"reason", why}});
    return html_response(http::status::bad_request, v, "This unsubscribe link does not work",
                         "<p>The link could not be used (" + html_escape(why) +
                             "). Nothing was changed.</p>\n<p>Please use the unsubscribe link "
                             "of a more recent message, or reply to the sender.</p>\n");
  }
  if (req.method() == http::verb::get) {
    // The page only offers the choice; the POST below does the unsubscribing.
    std::string list = claims->list.empty() ? "*" : claims->list;
    std::string form =
        "<p>Stop sending <strong>" + html_escape(addr->address) + "</strong> mail from " +
        html_escape(list_name(list)) +
        "?</p>\n<form method=\"post\">\n<fieldset>\n<legend>Unsubscribe from</legend>\n";
    if (list != "*")
      form += "<p><label><input type=\"radio\" name=\"scope\" value=\"list\" checked> " +
              html_escape(list_name(list)) +
              " only</label></p>\n<p><label><input type=\"radio\" name=\"scope\" value=\"all\"> "
              "all mailing lists from this sender</label></p>\n";
    else
      form += "<input type=\"hidden\" name=\"scope\" value=\"all\">\n";
    form +=
        "</fieldset>\n<p><button type=\"submit\" id=\"unsubscribe\">Unsubscribe</button></p>\n"
        "</form>\n";
    return html_response(http::status::ok, v, "Unsubscribe", form);
  }
  // RFC 8058 clients post "List-Unsubscribe=One-Click"; the page posts scope=list|all.
  auto form = parse_pairs(req.body());
  bool all = form.count("scope") && form["scope"] == "all";
  std::string list = all || claims->list.empty() ? "*" : claims->list;
  EventContext ec;
  ec.source = Source::web;
  try {
    st.store->unsubscribe(addr->address, list, ec);
  } catch (const StoreError& e) {
    log_event(LogLevel::error, session, "store unavailable", {{"error", e.what()}});
    return store_unavailable(v);
  }
  log_event(LogLevel::info, session, "unsubscribed",
            {{"rcpt", addr->address},
             {"list", list},
             {"key_id", claims->key_id},
             {"one_click", form.count("List-Unsubscribe") ? "yes" : "no"}});
  return html_response(http::status::ok, v, "You are unsubscribed",
                       "<p><strong>" + html_escape(addr->address) +
                           "</strong> will no longer receive mail from " +
                           html_escape(list_name(list)) + ".</p>\n");
}

Response handle_acs_events(const WebState& st, const Request& req, std::string_view query,
                           const std::string& session) {
  unsigned v = req.version();
  const WebConfig& wc = st.config->web;
  if (wc.event_grid_secret.empty())
    return plain_response(http::status::not_found, v, "The Event Grid webhook is not configured.");
  auto params = parse_pairs(query);
  auto code = params.find("code");
  if (code == params.end()) {
    log_event(LogLevel::warning, session, "event grid request without code");
    return plain_response(http::status::unauthorized, v, "Missing ?code= secret.");
  }
  if (!secret_matches(code->second, wc.event_grid_secret)) {
    log_event(LogLevel::warning, session, "event grid request with wrong code");
    return plain_response(http::status::forbidden, v, "Wrong ?code= secret.");
  }
  if (req.method() == http::verb::options) {
    // CloudEvents 1.0 webhook abuse protection: echo the origin we agree to receive from.
    auto origin = req.find("WebHook-Request-Origin");
    if (origin == req.end())
      return plain_response(http::status::bad_request, v, "Missing WebHook-Request-Origin.");
    Response res{http::status::ok, v};
    res.set("WebHook-Allowed-Origin", origin->value());
    res.set("WebHook-Allowed-Rate", "*");
    res.set(http::field::allow, "POST, OPTIONS");
    res.prepare_payload();
    log_event(LogLevel::info, session, "cloudevents validation handshake",
              {{"origin", std::string(origin->value().data(), origin->value().size())}});
    return res;
  }
  if (req.method() != http::verb::post) {
    Response res = plain_response(http::status::method_not_allowed, v, "Use POST or OPTIONS.");
    res.set(http::field::allow, "POST, OPTIONS");
    return res;
  }
  std::string why;
  auto batch = plan_event_batch(*st.config, req.body(), wc.max_body, &why);
  if (!batch) {
    log_event(LogLevel::warning, session, "event batch refused", {{"reason", why}});
    return plain_response(http::status::bad_request, v, "Refused, nothing recorded: " + why);
  }
  if (batch->validation_code) {
    log_event(LogLevel::info, session, "event grid subscription validation");
    return json_response(http::status::ok, v,
                         JsonObject().add("validationResponse", *batch->validation_code).str());
  }
  int64_t recorded = 0, duplicates = 0, ignored = 0;
  for (PlannedEvent& ev : batch->events) {
    if (!ev.outcome) {
      ++ignored;
      log_event(LogLevel::info, session, "event ignored",
                {{"event_id", ev.id}, {"type", ev.type}, {"reason", ev.why_ignored}});
      continue;
    }
    try {
      if (!ev.internet_message_id.empty()) {
        auto m = st.store->lookup_message(ev.internet_message_id);
        if (auto it = m.find("queue_id"); it != m.end()) ev.outcome->ctx.queue_id = it->second;
        // The original envelope sender as the relay saw it, over the one ACS reports.
        if (auto it = m.find("sender"); it != m.end() && !it->second.empty())
          ev.outcome->sender = it->second;
      }
      // The event id is marked seen by the same script call that records it: a retry after a
      // failure finds it unseen, a redelivery after success is recorded nothing.
      ev.outcome->dedupe_id = "acs:" + ev.id;
      ev.outcome->dedupe_ttl = wc.event_dedupe_ttl;
      if (st.store->record(*ev.outcome).duplicate) {
        ++duplicates;
        log_event(LogLevel::info, session, "event already processed", {{"event_id", ev.id}});
        continue;
      }
    } catch (const StoreError& e) {
      log_event(LogLevel::error, session, "store unavailable",
                {{"error", e.what()},
                 {"event_id", ev.id},
                 {"recorded_before", std::to_string(recorded)}});
      return store_unavailable(v);
    }
    ++recorded;
    const OutcomeRecord& o = *ev.outcome;
    log_event(LogLevel::info, o.ctx.queue_id, "recorded",
              {{"session", session},
               {"rcpt", o.address},
               {"status", ev.status},
               {"class", std::string(to_string(o.cls))},
               {"action", std::string(to_string(o.action))},
               {"code", o.code},
               {"rule", o.rule},
               {"source", "acs"},
               {"event_id", ev.id}});
  }
  return json_response(http::status::ok, v,
                       JsonObject()
                           .add("recorded", recorded)
                           .add("duplicates", duplicates)
                           .add("ignored", ignored)
                           .str());
}

}  // namespace

Response handle_request(const WebState& st, const Request& req, const std::string& session) {
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  Response res;
  if (is_api_path(path)) {
    res = handle_api(st, req, path, query, session);
  } else if (path == "/acs/events") {
    res = handle_acs_events(st, req, query, session);
  } else if (std::string token = token_from_path(path); !token.empty()) {
    res = handle_unsubscribe(st, req, token, session);
  } else if (path == "/" || path == "/healthz") {
    res = plain_response(http::status::ok, req.version(), "bouncegate-web");
  } else {
    res = plain_response(http::status::not_found, req.version(), "Not found.");
  }
  res.set(http::field::server, "bouncegate-web");
  res.keep_alive(req.keep_alive());
  return res;
}

}  // namespace bouncegate::web
