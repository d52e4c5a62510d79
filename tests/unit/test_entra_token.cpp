// The client-credentials grant's pure parts: the form sent to the token endpoint and the
// reading of its answer (tokens, lifetimes, Entra's error shape, hostile answers).
#include <gtest/gtest.h>

#include "core/client_assertion.hpp"
#include "core/entra_token.hpp"
#include "core/http_client.hpp"

namespace bouncegate {
namespace {

TEST(EntraToken, AGoodAnswerGivesTheTokenAndItsLifetime) {
  auto a = parse_token_answer(
      200,
      R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0"})");
  EXPECT_EQ(a.access_token, "eyJ0");
  EXPECT_EQ(a.expires_in_s, 3599);
}

TEST(EntraToken, EntrasErrorShapeIsNamedWithoutGuessing) {
  try {
    parse_token_answer(
        401,
        R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]})");
    FAIL();
  } catch (const EntraTokenError& e) {
    EXPECT_STREQ(e.what(),
                 "token endpoint answered 401 invalid_client: AADSTS7000215: Invalid client "
                 "secret provided.");
  }
  EXPECT_THROW(parse_token_answer(503, "<html>busy</html>"), EntraTokenError);
}

TEST(EntraToken, IncompleteOrHostileAnswersAreRefused) {
  EXPECT_THROW(parse_token_answer(200, "not json"), EntraTokenError);
  EXPECT_THROW(parse_token_answer(200, R"({"expires_in":60})"), EntraTokenError);
  EXPECT_THROW(parse_token_answer(200, R"({"access_token":"t"})"), EntraTokenError);
  EXPECT_THROW(parse_token_answer(200, R"({"access_token":"t","expires_in":0})"), EntraTokenError);
  EXPECT_THROW(
      parse_token_answer(200, R"({"access_token":"t","expires_in":60,"token_type":"mac"})"),
      EntraTokenError);
  // A description of any length is cut, so a log line stays bounded.
  std::string big = R"({"error":"x","error_description":")" + std::string(5000, 'a') + "\"}";
  try {
    parse_token_answer(400, big);
    FAIL();
  } catch (const EntraTokenError& e) {
    EXPECT_LT(std::string(e.what()).size(), 400u);
  }
}

TEST(EntraToken, TheSecretFormIsEncodedAsRfc3986Unreserved) {
  EntraConfig c;
  c.client_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  c.client_secret = "a+b/c=d&e~f.g";
  c.scope = "https://communication.azure.com/.default";
  EXPECT_EQ(token_request_form(c, 0),
            "grant_type=client_credentials&client_id=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
            "&scope=https%3A%2F%2Fcommunication.azure.com%2F.default"
            "&client_secret=a%2Bb%2Fc%3Dd%26e~f.g");
}

TEST(EntraToken, Base64urlAndUuids) {
  EXPECT_EQ(base64url(std::string("\xfb\xff\xfe", 3)), "-__-");
  EXPECT_EQ(base64url("ab"), "YWI");
  std::string u = random_uuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(u, random_uuid());
}

TEST(EntraToken, UrlsAreParsedStrictly) {
  std::string why;
  auto u = parse_http_url("https://login.microsoftonline.com/t/oauth2/v2.0/token", &why);
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/t/oauth2/v2.0/token");
  EXPECT_FALSE(parse_http_url("ftp://x/", &why));
  EXPECT_FALSE(parse_http_url("https://host:99x/", &why));
}

}  // namespace
}  // namespace bouncegate
