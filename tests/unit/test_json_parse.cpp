// Strict JSON parser: accepted documents, their values, and a table of malformed inputs that
// must be refused with a position.
#include <gtest/gtest.h>

#include "core/json_parse.hpp"

namespace bouncegate {
namespace {

JsonValue parse_ok(std::string_view text) {
  std::string why;
  auto v = parse_json(text, &why);
  EXPECT_TRUE(v.has_value()) << text << ": " << why;
  return v.value_or(JsonValue{});
}

TEST(JsonParse, EventGridBatchValues) {
  JsonValue v =
      parse_ok(R"([{"id":"e1","eventType":"Microsoft.Communication.EmailDeliveryReportReceived",
    "data":{"recipient":"a@example.com","status":"Bounced","deliveryStatusDetails":
    {"statusMessage":"550 5.1.1 user unknown"},"n":-12.5e1,"ok":true,"none":null}}])");
  ASSERT_TRUE(v.is_array());
  ASSERT_EQ(v.items.size(), 1u);
  const JsonValue& e = v.items[0];
  EXPECT_EQ(e.string_at("id"), "e1");
  const JsonValue* data = e.find("data");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->string_at("status"), "Bounced");
  EXPECT_EQ(data->find("deliveryStatusDetails")->string_at("statusMessage"),
            "550 5.1.1 user unknown");
  EXPECT_DOUBLE_EQ(data->find("n")->number, -125.0);
  EXPECT_EQ(data->find("n")->text, "-12.5e1");
  EXPECT_TRUE(data->find("ok")->boolean);
  EXPECT_TRUE(data->find("none")->is_null());
  EXPECT_EQ(data->find("missing"), nullptr);
  EXPECT_EQ(data->string_at("n"), std::nullopt);
}

TEST(JsonParse, EscapesAndUnicode) {
  JsonValue v = parse_ok(R"("a\"b\\c\/d\n\t\u00e9\ud83d\ude00 é")");
  EXPECT_EQ(v.text, "a\"b\\c/d\n\té\xF0\x9F\x98\x80 é");
}

TEST(JsonParse, ScalarsAndEmptyContainersAtTopLevel) {
  EXPECT_EQ(parse_ok(" 0 ").number, 0);
  EXPECT_TRUE(parse_ok("[]").items.empty());
  EXPECT_TRUE(parse_ok("{}").members.empty());
  EXPECT_TRUE(parse_ok("\r\n\t null \n").is_null());
}

struct Malformed {
  const char* name;
  std::string text;
};

class JsonMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(JsonMalformed, IsRefusedWithAPosition) {
  std::string why;
  auto v = parse_json(GetParam().text, &why);
  EXPECT_FALSE(v.has_value()) << GetParam().text;
  EXPECT_NE(why.find("line "), std::string::npos) << why;
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, JsonMalformed,
    ::testing::Values(
        Malformed{"empty", ""}, Malformed{"spaces", "   "},
        Malformed{"trailing_comma_array", "[1,]"},
        Malformed{"trailing_comma_object", R"({"a":1,})"}, Malformed{"missing_colon", R"({"a" 1})"},
        Malformed{"single_quotes", "{'a':1}"}, Malformed{"unquoted_key", "{a:1}"},
        Malformed{"leading_zero", "01"}, Malformed{"bare_minus", "-"},
        Malformed{"dot_without_digit", "1."}, Malformed{"exponent_without_digit", "1e+"},
        Malformed{"plus_sign", "+1"}, Malformed{"nan", "NaN"}, Malformed{"huge_number", "1e999"},
        Malformed{"comment", "[1]//x"}, Malformed{"two_values", "[1] [2]"},
        Malformed{"truncated", R"({"a":[1,2)"}, Malformed{"unterminated_string", R"("abc)"},
        Malformed{"raw_newline_in_string", "\"a\nb\""}, Malformed{"bad_escape", R"("\x")"},
        Malformed{"short_unicode", R"("\u12")"}, Malformed{"lone_high_surrogate", R"("\ud800")"},
        Malformed{"lone_low_surrogate", R"("\udc00")"}, Malformed{"invalid_utf8", "\"\xC3\x28\""},
        Malformed{"overlong_utf8", "\"\xC0\xAF\""}, Malformed{"utf8_surrogate", "\"\xED\xA0\x80\""},
        Malformed{"duplicate_key", R"({"id":"a","id":"b"})"},
        Malformed{"misspelled_literal", "tru"}, Malformed{"nul_byte", std::string("[1,\0]", 5)},
        Malformed{"binary", "\x89PNG\r\n"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(JsonParse, DepthLimit) {
  std::string deep(40, '[');
  deep += std::string(40, ']');
  std::string why;
  EXPECT_FALSE(parse_json(deep, &why).has_value());
  EXPECT_NE(why.find("deeply"), std::string::npos) << why;
  std::string ok(32, '[');
  ok += std::string(32, ']');
  EXPECT_TRUE(parse_json(ok, &why).has_value()) << why;
}

TEST(JsonParse, SizeAndItemLimits) {
  JsonLimits small;
  small.max_bytes = 10;
  std::string why;
  EXPECT_FALSE(parse_json("[1,2,3,4,5,6]", &why, small).has_value());
  EXPECT_NE(why.find("larger"), std::string::npos) << why;
  JsonLimits few;
  few.max_items = 3;
  EXPECT_TRUE(parse_json("[1,2]", &why, few).has_value());
  EXPECT_FALSE(parse_json("[1,2,3]", &why, few).has_value());
}

TEST(JsonParse, EveryPrefixOfAValidDocumentIsRefusedWithoutCrashing) {
  std::string doc = R"({"a":[1,-2.5e3,"x\u00e9",true,null,{"b":{}}]})";
  for (size_t n = 0; n < doc.size(); ++n) {
    std::string why;
    EXPECT_FALSE(parse_json(doc.substr(0, n), &why).has_value()) << n;
  }
  EXPECT_TRUE(parse_json(doc, nullptr).has_value());
}

}  // namespace
}  // namespace bouncegate
