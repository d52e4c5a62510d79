// The no-op policy service anchor for bench/run: Postfix's policy delegation protocol read with
// the same reader as bouncegate's service (milter/policy_protocol), every request answered
// DUNNO without asking anything. What the protocol itself costs Postfix.
//   policy_noop PORT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "milter/policy_protocol.hpp"

using bouncegate::milter::PolicyRequestReader;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: policy_noop PORT\n");
    return 64;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 128) != 0) {
    std::perror("policy_noop: listen");
    return 69;
  }
  for (;;) {
    int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::thread([c] {
      PolicyRequestReader reader;
      std::string error;
      char buf[16384];
      const std::string dunno = bouncegate::milter::policy_dunno();
      for (;;) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        reader.feed(std::string_view(buf, static_cast<size_t>(n)));
        while (reader.next(&error))
          if (send(c, dunno.data(), dunno.size(), MSG_NOSIGNAL) < 0) break;
        if (!error.empty()) break;
      }
      close(c);
    }).detach();
  }
}
