// Address canonicalisation: case, brackets, quoting, comments, trailing dot, UTS #46 IDN, and
// refusal of what cannot be understood.
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
                      AddressCase{"a,b@example.com", nullptr},
                      AddressCase{"user@exa..mple.com", nullptr},
                      AddressCase{"user\n@example.com", nullptr}));

// Gate bypass: every spelling that the MTA delivers to victim@example.net has that one key.
INSTANTIATE_TEST_SUITE_P(
    AsTheMtaDelivers, NormalizeAddress,
    ::testing::Values(AddressCase{"<victim@example.net.>", "victim@example.net"},
                      AddressCase{"<victim(comment)@example.net>", "victim@example.net"},
                      AddressCase{"<victim(nested (comment))@example.net>", "victim@example.net"},
                      AddressCase{"<victim @example.net>", "victim@example.net"},
                      AddressCase{"<victim@ example.net>", "victim@example.net"},
                      AddressCase{"<victim@example.net (x)>", "victim@example.net"},
                      AddressCase{"<(x)victim@example.net>", "victim@example.net"},
                      AddressCase{"<\"victim\"@example.net>", "victim@example.net"},
                      AddressCase{"<\"vic\"tim@example.net>", "victim@example.net"},
                      AddressCase{"<\"Victim\"@Example.NET.>", "victim@example.net"},
                      AddressCase{"<first.last@example.net>", "first.last@example.net"},
                      AddressCase{"<\"a@b\"@example.net>", "\"a@b\"@example.net"},
                      AddressCase{"<\"a\\\"b\"@example.net>", "\"a\\\"b\"@example.net"},
                      // White space or a comment between two atoms: the mailbox is unclear.
                      AddressCase{"<vic tim@example.net>", nullptr},
                      AddressCase{"<vic(x)tim@example.net>", nullptr},
                      AddressCase{"<victim@exam ple.net>", nullptr},
                      AddressCase{"<victim(open@example.net>", nullptr},
                      AddressCase{"<\"victim@example.net>", nullptr},
                      AddressCase{"<victim@example.net..>", nullptr},
                      AddressCase{"<victim@\"example\".net>", nullptr}));

// UTS #46 (libidn2): case folding beyond Latin-1, full-width forms, NFC.
INSTANTIATE_TEST_SUITE_P(
    Uts46, NormalizeAddress,
    ::testing::Values(
        // Cyrillic upper and lower case: one key.
        AddressCase{"user@\xD0\x9F\xD0\xA0\xD0\x98\xD0\x9C\xD0\x95\xD0\xA0.example",
                    "user@xn--e1afmkfd.example"},
        AddressCase{"user@\xD0\xBF\xD1\x80\xD0\xB8\xD0\xBC\xD0\xB5\xD1\x80.example",
                    "user@xn--e1afmkfd.example"},
        // Greek capitals map to small letters (cross-checked with Python's IDNA codec).
        AddressCase{"u@\xCE\x95\xCE\xBB\xCE\xBB\xCE\xAC\xCE\xB4\xCE\xB1.example",
                    "u@xn--hxakic4aa.example"},
        // Full-width "EXAMPLE" maps to ASCII.
        AddressCase{"u@\xEF\xBC\xA5\xEF\xBC\xB8\xEF\xBC\xA1\xEF\xBC\xAD\xEF\xBC\xB0"
                    "\xEF\xBC\xAC\xEF\xBC\xA5.net",
                    "u@example.net"},
        // Decomposed u + combining diaeresis is NFC-composed first.
        AddressCase{"user@bu\xCC\x88"
                    "cher.example",
                    "user@xn--bcher-kva.example"},
        AddressCase{"user@\xFF\xFE.example", nullptr},
        // Ideographic and full-width full stops are dots, a trailing one included.
        AddressCase{"victim@example\xE3\x80\x82net\xE3\x80\x82", "victim@example.net"},
        AddressCase{"victim@example\xEF\xBC\x8Enet", "victim@example.net"}));

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
