// A throw-away certificate authority made with the openssl CLI, and a server certificate it
// signs for localhost / 127.0.0.1, for tests that need real TLS.
#pragma once

#include <string>

namespace bouncegate::test {

struct TestCa {
  std::string ca_cert;      // PEM of the CA (what a client trusts)
  std::string server_cert;  // PEM chain: server certificate signed by the CA
  std::string server_key;
};

// Writes the files into `dir`; `name` prefixes them so two CAs can share a directory;
// `san` is the server certificate's subjectAltName. Throws std::runtime_error when openssl
// fails.
TestCa make_test_ca(const std::string& dir, const std::string& name = "test",
                    const std::string& san = "DNS:localhost,IP:127.0.0.1");

}  // namespace bouncegate::test
