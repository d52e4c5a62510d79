// Fuzz target: unsubscribe tokens (core/unsubscribe.hpp). TokenKeyring::open on arbitrary text
// with a fixed test key, and the round trip: seal then open gives back the same claims.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "core/unsubscribe.hpp"

namespace {

// A fixed key so that crashes reproduce; written to a temporary file because the keyring only
// loads key files.
const bouncegate::TokenKeyring& test_keyring() {
  static const bouncegate::TokenKeyring keyring = [] {
    char path[] = "/tmp/bouncegate-fuzz-key-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) std::abort();
    close(fd);
    {
      std::ofstream out(path);
      out << "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    }
    auto k = bouncegate::TokenKeyring::load({path});
    unlink(path);
    return k;
  }();
  return keyring;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bouncegate;
  const TokenKeyring& keyring = test_keyring();
  std::string_view input(reinterpret_cast<const char*>(data), size);

  std::string why;
  (void)keyring.open(input, 1700000000, 0, &why);
  (void)keyring.open(input, 1700000000, 86400, &why);
  (void)TokenKeyring::parse_key(input);

  // Round trip: the first byte is the list length, the rest splits into list and address.
  if (size == 0) return 0;
  size_t list_len = data[0] % 80;
  std::string_view rest = input.substr(1);
  std::string list(rest.substr(0, list_len));
  std::string address(rest.substr(std::min(list_len, rest.size())));
  int64_t issued = 1600000000 + static_cast<int64_t>(size) * 1000;
  std::string token;
  try {
    token = keyring.seal(list, address, issued);
  } catch (const TokenError&) {
    return 0;  // documented refusal: list id too long
  }
  auto claims = keyring.open(token, issued + 10, 3600, &why);
  if (!claims || claims->list != list || claims->address != address || claims->issued_s != issued)
    __builtin_trap();
  return 0;
}
