// ARM requests with pacing and bounded retries, for ACS's customer-managed suppression lists.
#include "core/arm_client.hpp"

#include <algorithm>
#include <thread>

#include "core/acs_lists.hpp"
#include "core/json_parse.hpp"

namespace bouncegate {

ArmClient::ArmClient(const AcsListsConfig& cfg, const std::atomic<bool>* stop, int attempts)
    : cfg_(cfg),
      stop_(stop),
      attempts_(attempts > 0 ? std::min(attempts, cfg.max_attempts) : cfg.max_attempts),
      tokens_(cfg.entra) {
  std::string why;
  auto u = parse_http_url(cfg_.endpoint, &why);
  if (!u || !u->tls) throw ArmError("acs.suppression_lists.endpoint: " + why, 0);
  base_ = *u;
}

void ArmClient::pace() {
  const auto gap = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(1.0 / std::max(1.0, cfg_.requests_per_second)));
  auto next = last_ + gap;
  auto now = std::chrono::steady_clock::now();
  if (now < next) std::this_thread::sleep_for(next - now);
  last_ = std::chrono::steady_clock::now();
}

bool ArmClient::rest(Millis d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
    if (stop_ && stop_->load()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        until - std::chrono::steady_clock::now(), std::chrono::milliseconds(100)));
  }
  return !(stop_ && stop_->load());
}

HttpAnswer ArmClient::send(const std::string& method, const std::string& url,
                           const std::string& body) {
  HttpUrl target = base_;
  if (url.rfind("/", 0) == 0) {
    target.target = url;
  } else {
    // A nextLink: followed only over https on the endpoint the token is meant for.
    std::string why;
    auto u = parse_http_url(url, &why);
    if (!u || !u->tls || u->host != base_.host || u->port != base_.port)
      throw ArmError("nextLink leaves " + base_.host + ": not followed", 0);
    target = *u;
  }
  std::string last_error;
  int last_status = 0;
  bool token_retried = false;
  Millis wait{1000};
  for (int attempt = 1; attempt <= attempts_; ++attempt) {
    pace();
    HttpRequest req;
    req.method = method;
    req.body = body;
    req.timeout = cfg_.entra.timeout;
    req.ca_file = cfg_.ca_file;
    req.headers["Accept"] = "application/json";
    req.headers["Authorization"] = "Bearer " + tokens_.token();  // EntraTokenError: no retry
    ++requests_;
    int status = 0;
    Millis retry_after = wait;
    try {
      HttpAnswer a = http_request(target, req);
      status = a.status;
      if (status == 401 && !token_retried) {
        // An expired or revoked token: one fresh one, then the answer stands.
        tokens_.forget(req.headers["Authorization"].substr(7));
        token_retried = true;
        --attempt;
        continue;
      }
      if (status != 429 && status < 500) return a;
      last_status = status;
      last_error = method + " answered " + std::to_string(status);
      if (auto it = a.headers.find("retry-after"); it != a.headers.end()) {
        long s = std::atol(it->second.c_str());
        if (s > 0) retry_after = Millis(s * 1000);
      }
    } catch (const HttpTransportError& e) {
      last_error = method + " " + base_.host + ": " + e.what();
    }
    if (attempt == attempts_) break;
    if (!rest(std::min(retry_after, cfg_.retry_max))) {
      last_error += " (stopped)";
      break;
    }
    wait = std::min(wait * 2, cfg_.retry_max);
  }
  throw ArmError(last_error + " (" + std::to_string(attempts_) + " attempts)", last_status);
}

namespace {
std::string refusal(const std::string& what, const HttpAnswer& a) {
  std::string body = a.body.substr(0, 300);
  return what + ": " + std::to_string(a.status) + " " + body;
}
}  // namespace

void ArmClient::ensure_list(const AcsListTarget& t) {
  const std::string key = t.domain + "/" + t.list;
  if (lists_ready_.count(key)) return;
  const std::string path = acs_list_path(cfg_, t) + "?api-version=" + form_encode(cfg_.api_version);
  HttpAnswer got = send("GET", path, "");
  if (got.status == 200) {
    // An operator's list is used as it is: its scope (listName) is theirs to change.
    std::string why;
    auto doc = parse_json(got.body, &why);
    const JsonValue* props = doc ? doc->find("properties") : nullptr;
    const std::string have = props ? props->string_at("listName").value_or("") : "";
    if (have != t.list_name)
      throw ArmError("suppression list " + key + " applies to listName '" + have.substr(0, 100) +
                         "', configured '" + t.list_name + "': not changed, nothing pushed",
                     got.status);
  } else if (got.status == 404) {
    HttpAnswer a = send("PUT", path, acs_list_body(t));
    if (a.status != 200 && a.status != 201)
      throw ArmError(refusal("suppression list " + key, a), a.status);
  } else {
    throw ArmError(refusal("suppression list " + key, got), got.status);
  }
  lists_ready_.insert(key);
}

void ArmClient::put_address(const AcsListTarget& t, const std::string& address,
                            const std::string& notes) {
  ensure_list(t);
  HttpAnswer a = send("PUT", acs_address_path(cfg_, t, address), acs_address_body(address, notes));
  if (a.status != 200 && a.status != 201)
    throw ArmError(refusal("address on " + t.domain + "/" + t.list, a), a.status);
}

void ArmClient::remove_address(const AcsListTarget& t, const std::string& address) {
  HttpAnswer a = send("DELETE", acs_address_path(cfg_, t, address), "");
  if (a.status != 200 && a.status != 204 && a.status != 404)
    throw ArmError(refusal("address on " + t.domain + "/" + t.list, a), a.status);
}

void ArmClient::for_each_address(
    const AcsListTarget& t,
    const std::function<void(const std::string&, const std::string&)>& visit) {
  std::string url = acs_addresses_path(cfg_, t);
  std::set<std::string> followed;
  while (!url.empty()) {
    if (!followed.insert(url).second)
      throw ArmError("list " + t.domain + "/" + t.list + ": a nextLink repeats; stopped", 0);
    HttpAnswer a = send("GET", url, "");
    if (a.status == 404) return;  // no such list yet: nothing in it
    if (a.status != 200) throw ArmError(refusal("list " + t.domain + "/" + t.list, a), a.status);
    AcsAddressPage page;
    try {
      page = parse_acs_address_page(a.body);
    } catch (const std::runtime_error& e) {
      throw ArmError(std::string("list ") + t.domain + "/" + t.list + ": " + e.what(), a.status);
    }
    for (const auto& [name, email] : page.items) visit(name, email);
    url = page.next_link;
  }
}

}  // namespace bouncegate
