// Raw loopback SMTP client for tests (see smtp_client.hpp).
#include "tests/support/smtp_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "tests/support/loopback.hpp"

namespace bouncegate::test {

SmtpClient::SmtpClient(int port) {
  fd_ = connect_loopback(port, 0);
  if (fd_ < 0) throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
}

SmtpClient::~SmtpClient() {
  close(fd_);
}

bool SmtpClient::send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string SmtpClient::reply() {
  std::string out;
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string l = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (!l.empty() && l.back() == '\r') l.pop_back();
      out += (out.empty() ? "" : "\n") + l;
      if (l.size() < 4 || l[3] != '-') return out;
      continue;
    }
    if (!fill()) return out;
  }
}

bool SmtpClient::closed() {
  return buf_.empty() && !fill();
}

bool SmtpClient::fill() {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, 20000) <= 0) return false;
  char tmp[4096];
  ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

}  // namespace bouncegate::test
