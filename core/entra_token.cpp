// The client-credentials grant against an Entra (or stand-in) token endpoint.
#include "core/entra_token.hpp"

#include <algorithm>

#include "core/client_assertion.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/json_parse.hpp"

namespace bouncegate {

namespace {
std::string bounded(std::string s) {
  if (s.size() > 300) s = s.substr(0, 300) + "...";
  return s;
}
}  // namespace

TokenAnswer parse_token_answer(int status, const std::string& body) {
  std::string why;
  auto doc = parse_json(body, &why);
  if (status != 200) {
    std::string msg = "token endpoint answered " + std::to_string(status);
    if (doc && doc->is_object()) {
      if (auto e = doc->string_at("error")) msg += " " + bounded(*e);
      if (auto d = doc->string_at("error_description")) msg += ": " + bounded(*d);
    }
    throw EntraTokenError(msg);
  }
  if (!doc || !doc->is_object()) throw EntraTokenError("token endpoint: the answer is not JSON");
  TokenAnswer a;
  auto tok = doc->string_at("access_token");
  if (!tok || tok->empty()) throw EntraTokenError("token endpoint: no access_token");
  auto type = doc->string_at("token_type");
  if (type && *type != "Bearer" && *type != "bearer")
    throw EntraTokenError("token endpoint: token_type " + bounded(*type) + ", expected Bearer");
  a.access_token = *tok;
  // expires_in is a number in Entra's answers; some stand-ins quote it.
  const JsonValue* exp = doc->find("expires_in");
  if (!exp || (exp->type != JsonValue::Type::number && exp->type != JsonValue::Type::string))
    throw EntraTokenError("token endpoint: no expires_in");
  const double secs =
      exp->type == JsonValue::Type::number ? exp->number : std::atof(exp->text.c_str());
  if (!(secs > 0)) throw EntraTokenError("token endpoint: expires_in is not positive");
  a.expires_in_s = secs > 86400 ? 86400 : static_cast<int64_t>(secs);  // at most a day
  if (a.expires_in_s <= 0) throw EntraTokenError("token endpoint: expires_in is not positive");
  return a;
}

std::string token_request_form(const EntraConfig& cfg, int64_t now_s) {
  std::string f = "grant_type=client_credentials&client_id=" + form_encode(cfg.client_id) +
                  "&scope=" + form_encode(cfg.scope);
  if (!cfg.client_secret.empty()) return f + "&client_secret=" + form_encode(cfg.client_secret);
  AssertionInput in;
  in.certificate_pem = cfg.certificate_pem;
  in.private_key_pem = cfg.private_key_pem;
  in.alg = cfg.assertion_alg;
  in.client_id = cfg.client_id;
  in.audience = cfg.endpoint();
  in.now_s = now_s;
  in.jti = random_uuid();
  return f + "&client_assertion_type=" +
         form_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
         "&client_assertion=" + make_client_assertion(in);
}

EntraTokenSource::EntraTokenSource(EntraConfig cfg) : cfg_(std::move(cfg)) {}

bool EntraTokenSource::due_locked(int64_t now) const {
  if (token_.empty()) return true;
  const int64_t life = expires_ms_ - got_ms_;
  const int64_t margin = std::min<int64_t>(cfg_.refresh_before.count(), life / 2);
  return now >= expires_ms_ - margin;
}

bool EntraTokenSource::due() const {
  std::lock_guard<std::mutex> l(mu_);
  return due_locked(now_ms());
}

std::string EntraTokenSource::token() {
  auto current = [&](bool only_if_fresh) -> std::string {
    std::lock_guard<std::mutex> l(mu_);
    const int64_t now = now_ms();
    if (only_if_fresh) return due_locked(now) ? std::string() : token_;
    // A due token that has not ended is still good while a new one cannot be had.
    return !token_.empty() && now < expires_ms_ ? token_ : std::string();
  };
  if (auto t = current(true); !t.empty()) return t;
  std::unique_lock<std::timed_mutex> fetching(fetch_mu_, std::try_to_lock);
  if (!fetching.owns_lock()) {
    if (auto t = current(false); !t.empty()) return t;
    const auto wait = std::min<Millis>(cfg_.timeout, Millis(5000));
    if (!fetching.try_lock_for(wait))
      throw EntraTokenError("no access token yet: the token endpoint is slow to answer");
  }
  if (auto t = current(true); !t.empty()) return t;  // fetched while we waited
  if (in_failure_gap()) {
    if (auto t = current(false); !t.empty()) return t;
    throw EntraTokenError(
        "no access token: the last request to the token endpoint failed or "
        "its token was refused less than 5 s ago");
  }
  try {
    fetch();
  } catch (const EntraTokenError&) {
    if (auto t = current(false); !t.empty()) return t;
    throw;
  }
  return current(false);
}

void EntraTokenSource::refresh() {
  std::unique_lock<std::timed_mutex> fetching(fetch_mu_, std::try_to_lock);
  if (!fetching.owns_lock()) return;  // someone is asking already
  if (in_failure_gap()) return;
  fetch();
}

void EntraTokenSource::forget(const std::string& token) {
  std::lock_guard<std::mutex> l(mu_);
  if (token != token_) return;
  token_.clear();
  last_failure_ms_ = now_ms();
}

bool EntraTokenSource::in_failure_gap() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_failure_ms_ != 0 && now_ms() - last_failure_ms_ < kMinFetchGap;
}

uint64_t EntraTokenSource::fetches() const {
  std::lock_guard<std::mutex> l(mu_);
  return fetches_;
}

void EntraTokenSource::fetch() {
  std::string why;
  auto url = parse_http_url(cfg_.endpoint(), &why);
  if (!url || !url->tls) throw EntraTokenError("token endpoint " + cfg_.endpoint() + ": " + why);
  HttpRequest req;
  req.headers["Content-Type"] = "application/x-www-form-urlencoded";
  req.headers["Accept"] = "application/json";
  const int64_t asked = now_ms();
  req.body = token_request_form(cfg_, asked / 1000);
  req.timeout = cfg_.timeout;
  req.ca_file = cfg_.ca_file;
  req.body_limit = 64 * 1024;
  HttpAnswer a;
  TokenAnswer t;
  try {
    try {
      a = http_request(*url, req);
    } catch (const HttpTransportError& e) {
      throw EntraTokenError("token endpoint " + url->host + ": " + e.what());
    }
    t = parse_token_answer(a.status, a.body);
  } catch (const EntraTokenError&) {
    std::lock_guard<std::mutex> l(mu_);
    last_failure_ms_ = now_ms();
    throw;
  }
  std::lock_guard<std::mutex> l(mu_);
  ++fetches_;
  token_ = t.access_token;
  got_ms_ = asked;
  expires_ms_ = asked + t.expires_in_s * 1000;
}

}  // namespace bouncegate
