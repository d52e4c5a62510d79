// Test CA via the openssl CLI: EC P-256 keys, SAN DNS:localhost and IP:127.0.0.1 by default.
#include "tests/support/test_ca.hpp"

#include <fstream>
#include <stdexcept>

#include "tests/support/harness.hpp"

namespace bouncegate::test {

TestCa make_test_ca(const std::string& dir, const std::string& name, const std::string& san) {
  TestCa ca;
  std::string p = dir + "/" + name;
  ca.ca_cert = p + "-ca.pem";
  ca.server_cert = p + "-server.pem";
  ca.server_key = p + "-server.key";
  std::string ca_key = p + "-ca.key", csr = p + "-server.csr", ext = p + "-server.ext";
  std::ofstream(ext) << "subjectAltName=" << san << "\n"
                     << "extendedKeyUsage=serverAuth\n";
  auto must = [](const std::vector<std::string>& argv) {
    RunResult r = run(argv);
    if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.err);
  };
  must({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", ca_key, "-out", ca.ca_cert, "-days", "2", "-subj",
        "/CN=bouncegate " + name + " CA"});
  must({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", ca.server_key, "-out", csr, "-subj", "/CN=localhost"});
  must({"openssl", "x509", "-req", "-in", csr, "-CA", ca.ca_cert, "-CAkey", ca_key,
        "-CAcreateserial", "-out", ca.server_cert, "-days", "2", "-extfile", ext});
  return ca;
}

}  // namespace bouncegate::test
