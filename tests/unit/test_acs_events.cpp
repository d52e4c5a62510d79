// The web daemon's event planning, called directly: a whole Event Grid batch or nothing, the
// status mapping applied, the validation handshake recognised.
#include <gtest/gtest.h>

#include "core/config.hpp"
#include "web/acs_events.hpp"

namespace bouncegate {
namespace {

std::shared_ptr<const Config> cfg() {
  static auto c = load_config_text("redis: {}\n", "t.yaml");
  return c;
}

std::string report(const std::string& id, const std::string& status, const std::string& msg = "",
                   const std::string& rcpt = "user@example.com") {
  return R"({"id":")" + id +
         R"(","eventType":"Microsoft.Communication.EmailDeliveryReportReceived",)"
         R"("data":{"recipient":")" +
         rcpt + R"(","status":")" + status + R"(","deliveryStatusDetails":{"statusMessage":")" +
         msg + R"("}}})";
}

TEST(AcsEvents, BatchMapsStatusesThroughTheTableAndTheRules) {
  std::string body = "[" + report("e1", "Delivered") + "," + report("e2", "Expanded") + "," +
                     report("e3", "Bounced", "550 5.1.1 user unknown") + "," +
                     report("e4", "Bounced", "550 rejected") + "," + report("e5", "FilteredSpam") +
                     "," + report("e6", "SomethingNew") + "]";
  std::string why;
  auto b = web::plan_event_batch(*cfg(), body, 1 << 20, &why);
  ASSERT_TRUE(b) << why;
  ASSERT_EQ(b->events.size(), 6u);
  EXPECT_EQ(b->events[0].outcome->cls, OutcomeClass::delivered);
  EXPECT_FALSE(b->events[1].outcome) << "Expanded is no outcome";
  EXPECT_EQ(b->events[2].outcome->cls, OutcomeClass::hard) << "the text decides";
  EXPECT_NE(b->events[3].outcome->cls, OutcomeClass::hard) << "ACS's status alone never suppresses";
  EXPECT_EQ(b->events[3].outcome->rule, "acs-bounced-unclear");
  EXPECT_EQ(b->events[4].outcome->cls, OutcomeClass::reputation);
  EXPECT_EQ(b->events[5].outcome->rule, "acs-status-unrecognised");
  EXPECT_EQ(b->events[5].outcome->action, Action::record);
}

// A Failed report goes through the same reply rules as Bounced: its statusMessage decides,
// and the status alone never suppresses.
TEST(AcsEvents, FailedStatusMessageGoesThroughTheReplyRules) {
  std::string body =
      "[" + report("f1", "Failed", "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found") + "," +
      report("f2", "Failed", "554 5.7.1 [CS01] Message rejected due to local policy") + "," +
      report("f3", "Failed") + "," + report("f4", "Quarantined", "550 5.1.1 user unknown") + "]";
  std::string why;
  auto b = web::plan_event_batch(*cfg(), body, 1 << 20, &why);
  ASSERT_TRUE(b) << why;
  ASSERT_EQ(b->events.size(), 4u);
  EXPECT_EQ(b->events[0].outcome->cls, OutcomeClass::hard) << "the receiver's text decides";
  EXPECT_EQ(b->events[1].outcome->cls, OutcomeClass::reputation);
  EXPECT_EQ(b->events[2].outcome->cls, OutcomeClass::unknown) << "Failed alone decides nothing";
  EXPECT_EQ(b->events[2].outcome->rule, "acs-failed");
  EXPECT_EQ(b->events[3].outcome->cls, OutcomeClass::hard);
}

TEST(AcsEvents, OneBadEventRefusesTheWholeBatch) {
  std::string why;
  std::string body = "[" + report("e1", "Delivered") + "," + report("", "Delivered") + "]";
  EXPECT_FALSE(web::plan_event_batch(*cfg(), body, 1 << 20, &why));
  EXPECT_FALSE(why.empty());
  EXPECT_FALSE(web::plan_event_batch(
      *cfg(), "[" + report("e1", "Bounced", "", "not an address") + "]", 1 << 20, &why));
  EXPECT_FALSE(web::plan_event_batch(*cfg(), "{not json", 1 << 20, &why));
  EXPECT_FALSE(web::plan_event_batch(*cfg(), "[" + report("e1", "Delivered") + "]", 10, &why))
      << "larger than max_bytes";
}

TEST(AcsEvents, SubscriptionValidationIsRecognised) {
  std::string body = R"([{"id":"v1","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",)"
                     R"("data":{"validationCode":"ABC-123"}}])";
  std::string why;
  auto b = web::plan_event_batch(*cfg(), body, 1 << 20, &why);
  ASSERT_TRUE(b) << why;
  ASSERT_TRUE(b->validation_code);
  EXPECT_EQ(*b->validation_code, "ABC-123");
}

}  // namespace
}  // namespace bouncegate
