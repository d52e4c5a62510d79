// Unsubscribe tokens sealed with AES-256-GCM (OpenSSL EVP), the List-Unsubscribe header value
// and list matching by envelope sender or List-Id.
#include "core/unsubscribe.hpp"

#include <fnmatch.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

namespace bouncegate {
namespace {

constexpr unsigned char kVersion = 1;
constexpr std::string_view kAadLabel = "bouncegate-unsubscribe-v1";
constexpr size_t kIdLen = 4, kNonceLen = 12, kTagLen = 16, kHeadLen = 1 + kIdLen;
constexpr size_t kMinPlain = 8 + 1;  // issued_s and list length
// open() refuses longer tokens unread; seal() keeps every token it makes below this: a list id
// of 255 bytes and an address of kMaxSealedAddress bytes still fit (base64url: 4 chars per 3).
constexpr size_t kMaxTokenChars = 2048;
constexpr size_t kMaxSealedAddress = 1024;
static_assert((kHeadLen + kNonceLen + kMinPlain + 255 + kMaxSealedAddress + kTagLen + 2) / 3 * 4 <=
              kMaxTokenChars);

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (size_t i = 0; i < n; ++i) {
    o += d[p[i] >> 4];
    o += d[p[i] & 15];
  }
  return o;
}

// Standard base64 (with or without padding) through OpenSSL; nullopt on bad characters.
std::optional<std::string> decode_b64_std(std::string s) {
  for (char c : s)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=')
      return std::nullopt;
  while (!s.empty() && s.back() == '=') s.pop_back();
  size_t pad = (4 - s.size() % 4) % 4;
  if (pad == 3) return std::nullopt;
  s.append(pad, '=');
  std::string out(s.size() / 4 * 3, '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

std::string encode_b64url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

// Only the canonical encoding is accepted, so no two token strings open to the same claims.
std::optional<std::string> decode_b64url(std::string_view in) {
  std::string s(in);
  for (auto& c : s) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (c == '+' || c == '/' || c == '=')
      return std::nullopt;
  }
  auto out = decode_b64_std(s);
  if (!out || encode_b64url(*out) != in) return std::nullopt;
  return out;
}

std::string aad_for(const unsigned char* head) {
  std::string a(kAadLabel);
  a.append(reinterpret_cast<const char*>(head), kHeadLen);
  return a;
}

}  // namespace

bool glob_match(const std::string& pattern, std::string_view value) {
  return !pattern.empty() &&
         fnmatch(pattern.c_str(), std::string(value).c_str(), FNM_CASEFOLD) == 0;
}

std::optional<std::array<unsigned char, 32>> TokenKeyring::parse_key(std::string_view text) {
  std::string s;
  for (char c : text)
    if (!isspace(static_cast<unsigned char>(c))) s += c;
  std::string bytes;
  bool is_hex =
      s.size() == 64 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
  if (is_hex) {
    for (size_t i = 0; i < 64; i += 2)
      bytes += static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16));
  } else if (auto b = decode_b64_std(s)) {
    bytes = *b;
  }
  if (bytes.size() != 32) return std::nullopt;
  std::array<unsigned char, 32> key{};
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

TokenKeyring TokenKeyring::load(const std::vector<std::string>& key_files) {
  TokenKeyring ring;
  for (const auto& name : key_files) {
    std::string path = name;
    if (!path.empty() && path[0] != '/')
      if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"))
        path = std::string(dir) + "/" + path;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path + ": unsubscribe key file cannot be read");
    std::stringstream buf;
    buf << in.rdbuf();
    auto key = parse_key(buf.str());
    if (!key)
      throw ConfigError(path +
                        ": unsubscribe key must be 32 bytes written as 64 hex digits or base64");
    Key k;
    k.bytes = *key;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(k.bytes.data(), k.bytes.size(), digest);
    std::copy(digest, digest + kIdLen, k.id.begin());
    ring.keys_.push_back(k);
  }
  return ring;
}

std::string TokenKeyring::seal(const std::string& list, const std::string& address,
                               int64_t issued_s) const {
  if (keys_.empty()) throw TokenError("no unsubscribe key configured");
  if (list.size() > 255) throw TokenError("list id longer than 255 bytes");
  // open() needs at least one address byte: never hand out a token that cannot be opened.
  if (address.empty()) throw TokenError("no address to seal");
  if (address.size() > kMaxSealedAddress) throw TokenError("address longer than 1024 bytes");
  const Key& k = keys_.front();
  std::string plain(8, '\0');
  for (int i = 0; i < 8; ++i)
    plain[static_cast<size_t>(i)] =
        static_cast<char>((static_cast<uint64_t>(issued_s) >> (56 - 8 * i)) & 0xff);
  plain += static_cast<char>(list.size());
  plain += list;
  plain += address;

  std::string out(kHeadLen + kNonceLen, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  o[0] = kVersion;
  std::copy(k.id.begin(), k.id.end(), o + 1);
  if (RAND_bytes(o + kHeadLen, static_cast<int>(kNonceLen)) != 1)
    throw TokenError("no random bytes for the nonce");
  std::string aad = aad_for(o);

  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string ct(plain.size(), '\0');
  std::string tag(kTagLen, '\0');
  int len = 0;
  bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceLen, nullptr) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, k.bytes.data(), o + kHeadLen) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(ct.data()), &len,
                        reinterpret_cast<const unsigned char*>(plain.data()),
                        static_cast<int>(plain.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(ct.data()) + len, &len) ==
          1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagLen, tag.data()) == 1;
  if (!ok) throw TokenError("token encryption failed");
  return encode_b64url(out + ct + tag);
}

std::optional<TokenClaims> TokenKeyring::open(std::string_view token, int64_t now_s,
                                              int64_t max_age_s, std::string* why) const {
  auto fail = [&](const char* reason) -> std::optional<TokenClaims> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (token.size() > kMaxTokenChars) return fail("malformed");
  auto raw = decode_b64url(token);
  if (!raw || raw->size() < kHeadLen + kNonceLen + kMinPlain + kTagLen) return fail("malformed");
  const auto* b = reinterpret_cast<const unsigned char*>(raw->data());
  if (b[0] != kVersion) return fail("malformed");
  const Key* key = nullptr;
  for (const auto& k : keys_)
    if (std::equal(k.id.begin(), k.id.end(), b + 1)) key = &k;
  if (!key) return fail("tampered or unknown key");

  const unsigned char* nonce = b + kHeadLen;
  const unsigned char* ct = nonce + kNonceLen;
  size_t ct_len = raw->size() - kHeadLen - kNonceLen - kTagLen;
  std::string tag(raw->end() - static_cast<long>(kTagLen), raw->end());
  std::string aad = aad_for(b);
  std::string plain(ct_len, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  // GCM's tag check (EVP_DecryptFinal_ex) is constant time inside OpenSSL.
  bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceLen, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key->bytes.data(), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, ct,
                        static_cast<int>(ct_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagLen, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &len) ==
          1;
  if (!ok) return fail("tampered or unknown key");

  uint64_t issued = 0;
  for (size_t i = 0; i < 8; ++i) issued = (issued << 8) | static_cast<unsigned char>(plain[i]);
  size_t list_len = static_cast<unsigned char>(plain[8]);
  if (plain.size() < kMinPlain + list_len + 1) return fail("malformed");
  TokenClaims c;
  c.key_id = hex(key->id.data(), key->id.size());
  c.issued_s = static_cast<int64_t>(issued);
  c.list = plain.substr(kMinPlain, list_len);
  c.address = plain.substr(kMinPlain + list_len);
  if (max_age_s > 0 && now_s - c.issued_s > max_age_s) return fail("expired");
  return c;
}

std::string build_list_unsubscribe(const UnsubscribeConfig& cfg, const std::string& token) {
  std::vector<std::string> parts;
  if (!cfg.url_base.empty()) parts.push_back("<" + cfg.url_base + token + ">");
  if (!cfg.mailto.empty())
    parts.push_back("<mailto:" + cfg.mailto + "?subject=unsubscribe-" + token + ">");
  std::string v;
  for (const auto& p : parts) v += (v.empty() ? "" : ",\n ") + p;
  return v;
}

const UnsubscribeList* list_for_sender(const UnsubscribeConfig& cfg, std::string_view sender) {
  for (const auto& l : cfg.lists)
    if (glob_match(l.sender, sender)) return &l;
  return nullptr;
}

const UnsubscribeList* list_for_list_id(const UnsubscribeConfig& cfg, std::string_view header) {
  std::string v(header);
  while (!v.empty() && isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  std::string inner;
  if (auto lt = v.rfind('<'); lt != std::string::npos)
    if (auto gt = v.find('>', lt); gt != std::string::npos) inner = v.substr(lt + 1, gt - lt - 1);
  for (const auto& l : cfg.lists)
    if (glob_match(l.list_id, v) || (!inner.empty() && glob_match(l.list_id, inner))) return &l;
  return nullptr;
}

}  // namespace bouncegate
