// Loopback TCP sockets for tests, in one place: a listener on 127.0.0.1 (port 0: the kernel
// picks) and a blocking connect with send/receive timeouts. Descriptors are close-on-exec.
#pragma once

namespace bouncegate::test {

// A listening socket on 127.0.0.1:port with `backlog`; throws std::runtime_error. `*bound`
// receives the port actually bound.
int listen_loopback(int port, int backlog, int* bound = nullptr);

// A connected socket to 127.0.0.1:port, or -1. timeout_s bounds each send and receive.
int connect_loopback(int port, int timeout_s = 10, bool nonblocking = false);

}  // namespace bouncegate::test
