// The signed JWT an Entra application presents instead of a client secret (certificate
// credentials): header alg PS256 with x5t#S256 or RS256 with x5t, claims aud/iss/sub/jti/nbf/exp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace bouncegate {

struct AssertionInput {
  std::string certificate_pem, private_key_pem;
  std::string alg = "PS256";  // PS256 | RS256
  std::string client_id;      // iss and sub
  std::string audience;       // the token endpoint
  int64_t now_s = 0;          // nbf (and iat); exp is 10 minutes later
  std::string jti;            // unique per assertion
};

// The compact JWT. Throws std::runtime_error when the key cannot sign.
std::string make_client_assertion(const AssertionInput& in);

// nullopt when the PEM certificate and RSA private key load and belong together; else why not.
std::optional<std::string> signing_credential_problem(const std::string& certificate_pem,
                                                      const std::string& private_key_pem);

// base64url without padding (RFC 7515 section 2).
std::string base64url(const std::string& bytes);

// A random version-4 UUID (RFC 9562), for jti.
std::string random_uuid();

}  // namespace bouncegate
