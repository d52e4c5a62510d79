// Unsubscribe tokens: round trip, every tampered byte refused, wrong key, key rotation, expiry,
// malformed input; the List-Unsubscribe header value and list matching.
#include <gtest/gtest.h>

#include "core/unsubscribe.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

const std::string kKeyA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
// 32 bytes 0xff.. in base64, split over lines (whitespace is ignored).
const std::string kKeyB = "//////////////////////\n////////////////////8=\n";
const std::string kKeyC = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

struct Keys {
  test::TempDir dir;
  std::string a = dir.file("a.key", kKeyA + "\n");
  std::string b = dir.file("b.key", kKeyB);
  std::string c = dir.file("c.key", kKeyC);
};

std::string base64url_alphabet() {
  return "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}

TEST(UnsubscribeToken, RoundTripKeepsListAddressAndTime) {
  Keys k;
  auto ring = TokenKeyring::load({k.a});
  std::string t = ring.seal("news", "alice@example.com", 1'790'000'000);
  EXPECT_EQ(t.find_first_not_of(base64url_alphabet()), std::string::npos) << t;
  EXPECT_EQ(t.find("alice"), std::string::npos);
  std::string why;
  auto c = ring.open(t, 1'790'000'100, 3600, &why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->list, "news");
  EXPECT_EQ(c->address, "alice@example.com");
  EXPECT_EQ(c->issued_s, 1'790'000'000);
  EXPECT_EQ(c->key_id.size(), 8u);
  // A fresh nonce each time: the same claims never give the same token.
  EXPECT_NE(ring.seal("news", "alice@example.com", 1'790'000'000), t);
}

TEST(UnsubscribeToken, EveryTamperedCharacterIsRefused) {
  Keys k;
  auto ring = TokenKeyring::load({k.a});
  std::string t = ring.seal("news", "bob@example.org", 1'790'000'000);
  const std::string alpha = base64url_alphabet();
  for (size_t i = 0; i < t.size(); ++i) {
    std::string bad = t;
    bad[i] = alpha[(alpha.find(bad[i]) + 1) % alpha.size()];
    std::string why;
    EXPECT_FALSE(ring.open(bad, 1'790'000'000, 0, &why)) << "position " << i;
    EXPECT_TRUE(why == "tampered or unknown key" || why == "malformed") << why;
  }
  std::string why;
  EXPECT_FALSE(ring.open(t.substr(0, t.size() - 1), 1'790'000'000, 0, &why));
  EXPECT_FALSE(ring.open(t + "A", 1'790'000'000, 0, &why));
}

TEST(UnsubscribeToken, WrongKeyIsRefused) {
  Keys k;
  std::string t = TokenKeyring::load({k.a}).seal("news", "c@example.com", 100);
  std::string why;
  EXPECT_FALSE(TokenKeyring::load({k.b}).open(t, 100, 0, &why));
  EXPECT_EQ(why, "tampered or unknown key");
}

TEST(UnsubscribeToken, RotationOldKeyOpensNewKeySeals) {
  Keys k;
  auto old_ring = TokenKeyring::load({k.a});
  std::string old_token = old_ring.seal("news", "d@example.com", 100);
  auto rotated = TokenKeyring::load({k.b, k.a});
  std::string why;
  auto c = rotated.open(old_token, 200, 0, &why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->address, "d@example.com");
  std::string new_token = rotated.seal("news", "d@example.com", 200);
  EXPECT_FALSE(old_ring.open(new_token, 200, 0, &why)) << "the newest key must seal";
  EXPECT_TRUE(TokenKeyring::load({k.b}).open(new_token, 200, 0, &why));
  EXPECT_NE(rotated.open(new_token, 200, 0, &why)->key_id, c->key_id);
}

TEST(UnsubscribeToken, ExpiredTokenIsRefused) {
  Keys k;
  auto ring = TokenKeyring::load({k.c});
  std::string t = ring.seal("news", "e@example.com", 1000);
  std::string why;
  EXPECT_TRUE(ring.open(t, 1000 + 3600, 3600, &why));
  EXPECT_FALSE(ring.open(t, 1000 + 3601, 3600, &why));
  EXPECT_EQ(why, "expired");
}

TEST(UnsubscribeToken, MalformedInputIsRefused) {
  Keys k;
  auto ring = TokenKeyring::load({k.a});
  for (const std::string& bad : std::vector<std::string>{
           "", "abc", "not base64!", "AAAA====", std::string(40, '*'), std::string(4000, 'A'),
           std::string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")}) {
    std::string why;
    EXPECT_FALSE(ring.open(bad, 0, 0, &why)) << bad;
    EXPECT_TRUE(why == "malformed" || why == "tampered or unknown key") << why;
  }
  std::string why;
  EXPECT_FALSE(ring.open("a+b/", 0, 0, &why));
  EXPECT_EQ(why, "malformed");
}

TEST(UnsubscribeToken, BadKeyFilesNameTheFile) {
  test::TempDir dir;
  std::string short_key = dir.file("short.key", "0011223344");
  try {
    TokenKeyring::load({short_key});
    FAIL() << "short key accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(short_key), std::string::npos) << e.what();
  }
  EXPECT_THROW(TokenKeyring::load({dir.path() + "/missing.key"}), ConfigError);
  TokenKeyring none;
  EXPECT_TRUE(none.empty());
  EXPECT_THROW(none.seal("news", "a@b.c", 1), TokenError);
}

TEST(UnsubscribeHeader, BothUrisFoldedBetweenThem) {
  UnsubscribeConfig cfg;
  cfg.url_base = "https://unsub.example.com/u/";
  cfg.mailto = "unsubscribe@example.com";
  EXPECT_EQ(build_list_unsubscribe(cfg, "TOK"),
            "<https://unsub.example.com/u/TOK>,\n "
            "<mailto:unsubscribe@example.com?subject=unsubscribe-TOK>");
  cfg.mailto.clear();
  EXPECT_EQ(build_list_unsubscribe(cfg, "TOK"), "<https://unsub.example.com/u/TOK>");
}

TEST(UnsubscribeLists, MatchBySenderGlobAndListId) {
  UnsubscribeConfig cfg;
  cfg.lists = {{"news", "*@news.example.com", ""}, {"digest", "", "digest.example.com"}};
  ASSERT_TRUE(list_for_sender(cfg, "Letters@NEWS.example.com"));
  EXPECT_EQ(list_for_sender(cfg, "letters@news.example.com")->id, "news");
  EXPECT_FALSE(list_for_sender(cfg, "someone@example.com"));
  EXPECT_FALSE(list_for_sender(cfg, ""));
  ASSERT_TRUE(list_for_list_id(cfg, "Weekly digest <digest.example.com>"));
  EXPECT_EQ(list_for_list_id(cfg, "<digest.example.com> ")->id, "digest");
  EXPECT_FALSE(list_for_list_id(cfg, "<other.example.com>"));
}

}  // namespace
}  // namespace bouncegate
