// Address normalisation: case, brackets, quoting, IDN (punycode) and rejection of unusable input.
#include <gtest/gtest.h>

#include "core/address.hpp"

namespace bouncegate {
namespace {

struct AddressCase {
  const char* input;
  const char* expected;  // nullptr: rejected
};

class NormalizeAddress : public ::testing::TestWithParam<AddressCase> {};

TEST_P(NormalizeAddress, GivesOneCanonicalForm) {
  const auto& c = GetParam();
  std::string why;
  auto a = normalize_address(c.input, &why);
  if (!c.expected) {
    EXPECT_FALSE(a) << c.input;
    EXPECT_FALSE(why.empty());
  } else {
    ASSERT_TRUE(a) << c.input << ": " << why;
    EXPECT_EQ(a->address, c.expected);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, NormalizeAddress,
    ::testing::Values(AddressCase{"Alice@Example.COM", "alice@example.com"},
                      AddressCase{"<bob@example.com>", "bob@example.com"},
                      AddressCase{"  <Bob@Example.com>  ", "bob@example.com"},
                      AddressCase{"<@relay.example:carol@example.com>", "carol@example.com"},
                      AddressCase{"\"dave\"@example.com", "dave@example.com"},
                      AddressCase{"\"d ave\"@example.com", "\"d ave\"@example.com"},
                      AddressCase{"user@b\xC3\xBC"
                                  "cher.example",
                                  "user@xn--bcher-kva.example"},
                      AddressCase{"user@M\xC3\xBCNCHEN.de", "user@xn--mnchen-3ya.de"},
                      AddressCase{"x@[192.0.2.1]", "x@[192.0.2.1]"}, AddressCase{"", nullptr},
                      AddressCase{"<>", nullptr}, AddressCase{"no-at-sign", nullptr},
                      AddressCase{"@example.com", nullptr}, AddressCase{"user@", nullptr},
                      AddressCase{"a b@example.com", nullptr},
                      AddressCase{"user@exa..mple.com", nullptr},
                      AddressCase{"user\n@example.com", nullptr}));

TEST(Punycode, MatchesRfc3492Samples) {
  EXPECT_EQ(*punycode_encode(U"b\u00fccher"), "bcher-kva");
  EXPECT_EQ(*punycode_encode(U"\u00e9t\u00e9"), "t-9fab");  // "été"
}

TEST(Address, RejectsOverlongAddress) {
  std::string local(250, 'a');
  EXPECT_FALSE(normalize_address(local + "@example.com"));
}

TEST(Address, DomainOf) {
  EXPECT_EQ(domain_of("a@Example.COM"), "example.com");
  EXPECT_EQ(domain_of("nodomain"), "");
}

}  // namespace
}  // namespace bouncegate
