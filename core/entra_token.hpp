// Access tokens of an Entra ID application by the OAuth 2.0 client-credentials grant (a client
// secret or a certificate assertion), cached and renewed before they end. Thread-safe; blocking.
#pragma once

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/config.hpp"

namespace bouncegate {

// What the token endpoint said (its error code and description, bounded) or why it could not
// be asked; never the secret or the assertion.
struct EntraTokenError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TokenAnswer {
  std::string access_token;
  int64_t expires_in_s = 0;
};

// The endpoint's answer: the token and its lifetime on 200, EntraTokenError otherwise.
TokenAnswer parse_token_answer(int status, const std::string& body);

// The form the token endpoint is sent (application/x-www-form-urlencoded).
std::string token_request_form(const EntraConfig& cfg, int64_t now_s);

class EntraTokenSource {
 public:
  explicit EntraTokenSource(EntraConfig cfg);
  // A cached token that is not due; else a new one. Throws EntraTokenError. One caller at a
  // time asks the endpoint: the others get the current token while it has not ended, else
  // wait for that answer (at most the endpoint timeout, capped at 5 s). After a failed request
  // or a refused token the endpoint is not asked again for kMinFetchGap, so an outage or a
  // refusal never turns into a request per connection.
  std::string token();
  // True when there is no token or it ends within min(refresh_before, half its lifetime).
  bool due() const;
  // Asks the endpoint now unless another caller is asking (the relay's upkeep, when due()).
  void refresh();
  static constexpr int64_t kMinFetchGap = 5000;  // ms after a failure before asking again
  // The server refused `token`: it is not handed out again.
  void forget(const std::string& token);
  uint64_t fetches() const;

 private:
  // Asks the endpoint (fetch_mu_ held, mu_ not) and stores the answer under mu_.
  void fetch();
  bool due_locked(int64_t now) const;
  bool in_failure_gap() const;
  EntraConfig cfg_;
  std::timed_mutex fetch_mu_;    // held while the endpoint is asked
  int64_t last_failure_ms_ = 0;  // a request failed or its token was refused (under mu_)
  mutable std::mutex mu_;        // the cached token
  std::string token_;
  int64_t got_ms_ = 0, expires_ms_ = 0;
  uint64_t fetches_ = 0;
};

}  // namespace bouncegate
