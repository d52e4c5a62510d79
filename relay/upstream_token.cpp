// Entra access tokens for the relay's XOAUTH2 sign-in, fetched on the blocking pool.
#include "relay/upstream_token.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace bouncegate {

using asio::awaitable;

RelayBearerTokens::RelayBearerTokens(RelayRuntime& rt, const EntraConfig& cfg)
    : rt_(rt), source_(std::make_shared<EntraTokenSource>(cfg)) {}

awaitable<std::string> RelayBearerTokens::token() {
  auto source = source_;
  auto get = [source] { return source->token(); };
  try {
    co_return co_await rt_.offload(get);
  } catch (const EntraTokenError& e) {
    Metrics::instance().inc("bouncegate_relay_entra_tokens_total", {{"result", "error"}});
    throw UpstreamError(UpstreamFault::auth_failed,
                        std::string("no Entra access token: ") + e.what(), SmtpCommand::auth);
  }
}

void RelayBearerTokens::refused(const std::string& token) {
  source_->forget(token);
  Metrics::instance().inc("bouncegate_relay_entra_tokens_total", {{"result", "refused"}});
}

awaitable<void> renew_tokens(std::shared_ptr<RelayBearerTokens> t) {
  co_await t->upkeep();
}

awaitable<void> RelayBearerTokens::upkeep() {
  if (renewing_ || !source_->due()) co_return;
  renewing_ = true;
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{renewing_};
  auto source = source_;
  auto renew = [source] {
    source->refresh();
    return true;
  };
  try {
    co_await rt_.offload(renew);
    Metrics::instance().inc("bouncegate_relay_entra_tokens_total", {{"result", "renewed"}});
    if (failing_) log_event(LogLevel::notice, "", "Entra access token renewed again");
    failing_ = false;
  } catch (const std::exception& e) {
    Metrics::instance().inc("bouncegate_relay_entra_tokens_total", {{"result", "error"}});
    if (!failing_)
      log_event(LogLevel::error, "", "Entra access token not renewed", {{"error", e.what()}});
    failing_ = true;
  }
}

std::shared_ptr<RelayBearerTokens> make_bearer_tokens(RelayRuntime& rt, const UpstreamConfig& u) {
  if (u.auth != "xoauth2") return nullptr;
  return std::make_shared<RelayBearerTokens>(rt, u.entra);
}

}  // namespace bouncegate
