// A loopback port whose accept queue is full: a connect() there never completes (SYNs are
// dropped), for tests of connect timeouts against the upstream or Redis.
#pragma once

namespace bouncegate::test {

class Blackhole {
 public:
  Blackhole();  // throws std::runtime_error when it cannot listen
  ~Blackhole();
  Blackhole(const Blackhole&) = delete;
  Blackhole& operator=(const Blackhole&) = delete;
  int port() const { return port_; }

 private:
  int listener_ = -1, port_ = 0;
  int fillers_[2] = {-1, -1};
};

}  // namespace bouncegate::test
