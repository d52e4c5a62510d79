// Which events are webhook changes, the body and the signature (a known HMAC-SHA256 vector).
#include <gtest/gtest.h>

#include "core/webhook_change.hpp"

namespace bouncegate {
namespace {

Event ev(std::map<std::string, std::string> f) {
  Event e;
  e.id = "1700000000000-0";
  e.ts_ms = 1700000000000;
  e.fields = std::move(f);
  return e;
}

TEST(WebhookChange, OnlyEventsThatChangeSomething) {
  EXPECT_EQ(webhook_change(ev({{"kind", "outcome"}, {"action", "suppress"}, {"class", "hard"}})),
            "suppressed");
  EXPECT_EQ(webhook_change(ev(
                {{"kind", "outcome"}, {"action", "suppress_permanent"}, {"class", "complaint"}})),
            "complaint");
  EXPECT_EQ(webhook_change(ev({{"kind", "outcome"}, {"action", "reject"}})), "unsubscribed");
  EXPECT_FALSE(webhook_change(ev({{"kind", "outcome"}, {"action", "record"}})));
  EXPECT_EQ(webhook_change(ev({{"kind", "gate"},
                               {"result", "reject"},
                               {"action", "suppress"},
                               {"dry_run", "0"},
                               {"entry", ""}})),
            "escalated");
  EXPECT_FALSE(webhook_change(
      ev({{"kind", "gate"}, {"result", "reject"}, {"action", "suppress"}, {"dry_run", "1"}})));
  EXPECT_FALSE(webhook_change(ev({{"kind", "gate"},
                                  {"result", "reject"},
                                  {"action", "suppress"},
                                  {"dry_run", "0"},
                                  {"entry", "*@d.example"}})));
  EXPECT_FALSE(webhook_change(ev({{"kind", "gate"}, {"result", "pass"}})));
  EXPECT_FALSE(webhook_change(ev({{"kind", "gate"},
                                  {"result", "reject"},
                                  {"action", "suppress_permanent"},
                                  {"dry_run", "0"}})));
  EXPECT_EQ(webhook_change(ev({{"kind", "remove"}, {"removed", "1"}})), "released");
  EXPECT_FALSE(webhook_change(ev({{"kind", "remove"}, {"removed", "0"}})));
  EXPECT_EQ(webhook_change(ev({{"kind", "expired"}})), "expired");
  EXPECT_EQ(webhook_change(ev({{"kind", "unsubscribe"}, {"new", "1"}})), "unsubscribed");
  EXPECT_FALSE(webhook_change(ev({{"kind", "unsubscribe"}, {"new", "0"}})));
  EXPECT_EQ(webhook_change(ev({{"kind", "resubscribe"}, {"removed", "1"}})), "resubscribed");
  EXPECT_EQ(webhook_change(ev({{"kind", "import"}, {"rows", "3"}})), "imported");
}

TEST(WebhookChange, BodyAndSignature) {
  auto body = webhook_body(
      ev({{"kind", "outcome"}, {"addr", "a@b.example"}, {"class", "hard"}, {"code", "550 5.1.1"}}),
      "suppressed");
  EXPECT_EQ(body, R"({"id":"1700000000000-0","change":"suppressed","address":"a@b.example",)"
                  R"("occurred_at":"2023-11-14T22:13:20Z","class":"hard","code":"550 5.1.1"})");
  // HMAC-SHA256 over "0.x" under "Jefe", as `printf 0.x | openssl dgst -sha256 -hmac Jefe`
  // computes it.
  EXPECT_EQ(webhook_signature("Jefe", 0, "x"),
            "6d15f8f565f81ca17757f8569ccb192a1f1e1b2695979a6115221439a5eb67cb");
  EXPECT_NE(webhook_signature("Jefe", 1, "x"), webhook_signature("Jefe", 0, "x"));
}

TEST(WebhookChange, BackoffDoublesToItsCap) {
  EXPECT_EQ(webhook_backoff_ms(1, 1000, 60000), 1000);
  EXPECT_EQ(webhook_backoff_ms(2, 1000, 60000), 2000);
  EXPECT_EQ(webhook_backoff_ms(5, 1000, 60000), 16000);
  EXPECT_EQ(webhook_backoff_ms(30, 1000, 60000), 60000);
}

}  // namespace
}  // namespace bouncegate
