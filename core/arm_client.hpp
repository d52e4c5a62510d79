// Requests to Azure Resource Manager for ACS's suppression lists: an Entra token for
// management.azure.com, a steady request rate, and retries (429 with Retry-After, 5xx, lost
// connections) within a bound. Blocking; used by the web's push loop and `bouncegate acs`.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "core/config.hpp"
#include "core/entra_token.hpp"
#include "core/http_client.hpp"

namespace bouncegate {

// A request that did not succeed within the attempts allowed, or was refused (4xx).
struct ArmError : std::runtime_error {
  ArmError(const std::string& what, int status) : std::runtime_error(what), status(status) {}
  int status;  // 0: no answer
};

class ArmClient {
 public:
  // `stop` (may be null): set while waiting to retry, the wait ends and the request fails at
  // once (a daemon shutting down); `attempts` > 0: fewer attempts than configured (the push
  // loop, whose changes stay pending in Redis anyway).
  explicit ArmClient(const AcsListsConfig& cfg, const std::atomic<bool>* stop = nullptr,
                     int attempts = 0);
  // The target's suppression list exists with the configured listName: created (PUT) when it
  // does not; one whose listName differs is refused (ArmError), never rewritten. Once a process.
  void ensure_list(const AcsListTarget& t);
  // PUT the address (200 or 201): the same resource name every time, so repeating is harmless.
  void put_address(const AcsListTarget& t, const std::string& address, const std::string& notes);
  // DELETE (200, 204; 404 is fine too: nothing to remove).
  void remove_address(const AcsListTarget& t, const std::string& address);
  // Every address of the list (resource name, email), following nextLink: only https on the
  // configured endpoint's host, and never the same link twice.
  void for_each_address(
      const AcsListTarget& t,
      const std::function<void(const std::string& name, const std::string& email)>& visit);
  uint64_t requests() const { return requests_; }

 private:
  HttpAnswer send(const std::string& method, const std::string& url, const std::string& body);
  void pace();
  // Sleeps `d` unless stop_ is set meanwhile (then false).
  bool rest(Millis d);
  AcsListsConfig cfg_;
  const std::atomic<bool>* stop_;
  int attempts_;
  HttpUrl base_;
  EntraTokenSource tokens_;
  std::set<std::string> lists_ready_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t requests_ = 0;
};

}  // namespace bouncegate
