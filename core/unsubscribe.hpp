// One-click unsubscribe (RFC 8058): sealed tokens naming list and address, the header value
// that carries them, and which configured list a message belongs to. No I/O besides key files.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace bouncegate {

struct TokenClaims {
  std::string key_id;  // 8 hex digits: first 4 bytes of SHA-256(key)
  std::string list;
  std::string address;
  int64_t issued_s = 0;
};

struct TokenError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// AES-256-GCM keys for tokens. Token bytes (base64url, no padding):
//   version(1)=1 | key id(4) | nonce(12) | ciphertext(issued_s(8) | list len(1) | list | address)
//   | tag(16); AAD = "bouncegate-unsubscribe-v1" | version | key id.
class TokenKeyring {
 public:
  TokenKeyring() = default;
  // Key files: 32 random bytes written as 64 hex chars or base64 (whitespace ignored). First file
  // seals; all open. Relative names are looked up in $CREDENTIALS_DIRECTORY when set.
  // Throws ConfigError naming the file on unreadable/short keys.
  static TokenKeyring load(const std::vector<std::string>& key_files);
  // base64url, no padding. Throws TokenError when there is no key, the list id is over 255
  // bytes or the address is empty or over 1024 bytes (open() would refuse such a token).
  std::string seal(const std::string& list, const std::string& address, int64_t issued_s) const;
  // nullopt + why ("tampered or unknown key", "expired", "malformed") when it cannot be opened.
  // max_age_s > 0 refuses tokens issued longer ago than that.
  std::optional<TokenClaims> open(std::string_view token, int64_t now_s, int64_t max_age_s,
                                  std::string* why) const;
  bool empty() const { return keys_.empty(); }

  // A key from its file text (hex or base64); nullopt unless exactly 32 bytes.
  static std::optional<std::array<unsigned char, 32>> parse_key(std::string_view text);

 private:
  struct Key {
    std::array<unsigned char, 32> bytes{};
    std::array<unsigned char, 4> id{};
  };
  std::vector<Key> keys_;
};

// "<URL_BASE TOKEN>,\n <mailto:MAILTO?subject=unsubscribe-TOKEN>" (either part may be absent).
// Folded between the two URIs with "\n " as libmilter's smfi_addheader expects.
std::string build_list_unsubscribe(const UnsubscribeConfig& cfg, const std::string& token);
inline constexpr const char* kListUnsubscribePost = "List-Unsubscribe=One-Click";

// fnmatch(3) glob, case-insensitive (list senders, list ids, policy senders); "" never matches.
bool glob_match(const std::string& pattern, std::string_view value);

// The configured list whose `sender` glob matches the envelope sender (case-insensitive).
const UnsubscribeList* list_for_sender(const UnsubscribeConfig& cfg, std::string_view sender);
// The configured list whose `list_id` glob matches a List-Id header value; the glob is tried
// against the whole value and against the id inside <...> (RFC 2919).
const UnsubscribeList* list_for_list_id(const UnsubscribeConfig& cfg, std::string_view header);

}  // namespace bouncegate
