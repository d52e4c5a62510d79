// The relay's access tokens for AUTH XOAUTH2 (relay.upstream.auth: xoauth2): an Entra token
// source asked off the io thread, renewed by the once-a-second upkeep before it ends.
#pragma once

#include <memory>

#include "core/entra_token.hpp"
#include "relay/server.hpp"
#include "relay/upstream.hpp"

namespace bouncegate {

class RelayBearerTokens : public BearerTokens {
 public:
  RelayBearerTokens(RelayRuntime& rt, const EntraConfig& cfg);
  // A token; UpstreamError(auth_failed) naming the endpoint's answer when there is none, so
  // the client hears 454 4.7.0 and Postfix keeps the mail.
  asio::awaitable<std::string> token() override;
  void refused(const std::string& token) override;
  // Renews a token that is due, so a new connection never waits for the endpoint.
  asio::awaitable<void> upkeep();
  bool renewing() const { return renewing_; }

 private:
  RelayRuntime& rt_;
  std::shared_ptr<EntraTokenSource> source_;
  bool failing_ = false;   // the last renewal failed (logged once until one succeeds)
  bool renewing_ = false;  // an upkeep is running (one at a time)
};

// Runs t->upkeep() holding t, for co_spawn from the relay's once-a-second loop.
asio::awaitable<void> renew_tokens(std::shared_ptr<RelayBearerTokens> t);

// A token source when `u` signs in with xoauth2; null otherwise.
std::shared_ptr<RelayBearerTokens> make_bearer_tokens(RelayRuntime& rt, const UpstreamConfig& u);

}  // namespace bouncegate
