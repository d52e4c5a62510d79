// A raw SMTP client over loopback TCP for tests: sends exactly the bytes given (hostile ones
// included) and reads whole replies, so a test can speak to a daemon byte for byte.
#pragma once

#include <string>

namespace bouncegate::test {

class SmtpClient {
 public:
  explicit SmtpClient(int port);  // 127.0.0.1:port; throws when nothing listens
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  bool send(const std::string& bytes);
  // One complete reply, lines joined by \n; "" on EOF or after 20 s.
  std::string reply();
  bool closed();

 private:
  bool fill();
  int fd_ = -1;
  std::string buf_;
};

}  // namespace bouncegate::test
