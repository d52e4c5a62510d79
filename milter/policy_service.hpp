// The RCPT gate as a Postfix policy service (check_policy_service inet:HOST:PORT): Postfix
// keeps these connections open across SMTP sessions, so a decision costs one request on an
// open socket instead of a milter conversation per connection. Same gate, replies, events and
// store failure policy as the milter's RCPT callback; a thread per connection, bounded.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "milter/filter.hpp"
#include "milter/policy_protocol.hpp"

namespace bouncegate::milter {

// The answer to one request, with the runtime `rt`: DUNNO for anything but an
// smtpd_access_policy request in state RCPT and for a recipient that passes.
std::string decide_policy(const Runtime& rt, const PolicyRequest& req);

class PolicyService {
 public:
  // Binds `listen` (IP:PORT, port 0: any, for tests); throws std::runtime_error.
  PolicyService(const std::string& listen, int max_connections, Millis idle);
  ~PolicyService();
  PolicyService(const PolicyService&) = delete;
  PolicyService& operator=(const PolicyService&) = delete;
  int port() const { return port_; }
  // Stops accepting, ends every connection, waits for their threads.
  void stop();

 private:
  void accept_loop();
  void serve(int fd);
  int listen_fd_ = -1;
  int port_ = 0;
  int max_connections_;
  Millis idle_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::set<int> open_;  // connections being served (shut down at stop)
};

}  // namespace bouncegate::milter
