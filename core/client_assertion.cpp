// Entra certificate credentials: a JWT signed with the application's RSA key (OpenSSL).
#include "core/client_assertion.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>

#include "core/json.hpp"

namespace bouncegate {

namespace {

struct Freer {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, Freer>;

Owned<BIO> bio_of(const std::string& pem) {
  return Owned<BIO>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

Owned<X509> load_cert(const std::string& pem) {
  auto b = bio_of(pem);
  return Owned<X509>(b ? PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr) : nullptr);
}

Owned<EVP_PKEY> load_key(const std::string& pem) {
  auto b = bio_of(pem);
  return Owned<EVP_PKEY>(b ? PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr) : nullptr);
}

std::string thumbprint(X509* cert, const EVP_MD* md) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!X509_digest(cert, md, d, &n)) throw std::runtime_error("cannot hash the certificate");
  return base64url(std::string(reinterpret_cast<char*>(d), n));
}

}  // namespace

std::string base64url(const std::string& bytes) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string random_uuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no random bytes");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += hex[b[i] >> 4];
    s += hex[b[i] & 15];
  }
  return s;
}

std::optional<std::string> signing_credential_problem(const std::string& certificate_pem,
                                                      const std::string& private_key_pem) {
  auto cert = load_cert(certificate_pem);
  if (!cert) return "not a PEM certificate";
  auto key = load_key(private_key_pem);
  if (!key) return "the private_key_file is not an unencrypted PEM private key";
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) return "the private key is not an RSA key";
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    return "the private key does not belong to the certificate";
  return std::nullopt;
}

std::string make_client_assertion(const AssertionInput& in) {
  auto cert = load_cert(in.certificate_pem);
  auto key = load_key(in.private_key_pem);
  if (!cert || !key) throw std::runtime_error("the certificate or key does not load");
  const bool pss = in.alg == "PS256";
  std::string header = "{\"alg\":" + json_string(in.alg) + ",\"typ\":\"JWT\",";
  header += pss ? "\"x5t#S256\":" + json_string(thumbprint(cert.get(), EVP_sha256()))
                : "\"x5t\":" + json_string(thumbprint(cert.get(), EVP_sha1()));
  header += "}";
  const int64_t exp = in.now_s + 600;
  std::string claims =
      "{\"aud\":" + json_string(in.audience) + ",\"iss\":" + json_string(in.client_id) +
      ",\"sub\":" + json_string(in.client_id) + ",\"jti\":" + json_string(in.jti) +
      ",\"nbf\":" + std::to_string(in.now_s) + ",\"iat\":" + std::to_string(in.now_s) +
      ",\"exp\":" + std::to_string(exp) + "}";
  const std::string input = base64url(header) + "." + base64url(claims);
  Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key.get()) != 1)
    throw std::runtime_error("cannot start signing");
  if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
    throw std::runtime_error("cannot select PSS padding");
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1)
    throw std::runtime_error("cannot sign the assertion");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    throw std::runtime_error("cannot sign the assertion");
  sig.resize(len);
  return input + "." + base64url(sig);
}

}  // namespace bouncegate
