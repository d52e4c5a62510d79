// Blackhole: a listener with backlog 0 and its queue filled by two connects of its own.
#include "tests/support/blackhole.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace bouncegate::test {

Blackhole::Blackhole() {
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(listener_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(listener_, 0) != 0)
    throw std::runtime_error("blackhole: cannot listen");
  getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  for (int& fd : fillers_) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&a), len);  // EINPROGRESS: fills the queue
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

Blackhole::~Blackhole() {
  for (int fd : fillers_) close(fd);
  close(listener_);
}

}  // namespace bouncegate::test
