// Which changes reach ACS's customer-managed suppression lists, and the ARM shapes: pure.
#include <gtest/gtest.h>

#include "core/acs_lists.hpp"

namespace bouncegate {
namespace {

Event ev(std::map<std::string, std::string> f) {
  Event e;
  e.id = "1-0";
  e.ts_ms = 1764547200000;
  e.fields = std::move(f);
  return e;
}

TEST(AcsListChange, PermanentDecisionsAndPushedUnsubscribesArePut) {
  AcsListsConfig c;
  auto put = acs_list_change(ev({{"kind", "outcome"},
                                 {"addr", "a@x.example"},
                                 {"class", "complaint"},
                                 {"action", "suppress_permanent"},
                                 {"source", "arf"}}),
                             c);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->op, AcsListChange::Op::put);
  EXPECT_EQ(put->notes, "bouncegate: complaint (arf, 2025-12-01T00:00:00Z)");
  EXPECT_TRUE(acs_list_change(ev({{"kind", "manual"},
                                  {"addr", "b@x.example"},
                                  {"class", "hard"},
                                  {"action", "suppress_permanent"},
                                  {"source", "cli"}}),
                              c));
  EXPECT_TRUE(acs_list_change(
      ev({{"kind", "unsubscribe"}, {"addr", "c@x.example"}, {"list", "*"}, {"new", "1"}}), c));
}

TEST(AcsListChange, LeasesRecordsOtherListsDomainEntriesAndPulledRowsAreNot) {
  AcsListsConfig c;
  EXPECT_FALSE(acs_list_change(
      ev({{"kind", "outcome"}, {"addr", "a@x.example"}, {"class", "hard"}, {"action", "suppress"}}),
      c));
  EXPECT_FALSE(acs_list_change(ev({{"kind", "outcome"},
                                   {"addr", "a@x.example"},
                                   {"class", "reputation"},
                                   {"action", "record"}}),
                               c));
  EXPECT_FALSE(acs_list_change(
      ev({{"kind", "unsubscribe"}, {"addr", "c@x.example"}, {"list", "weekly"}, {"new", "1"}}), c));
  EXPECT_FALSE(acs_list_change(
      ev({{"kind", "unsubscribe"}, {"addr", "c@x.example"}, {"list", "*"}, {"new", "0"}}), c));
  EXPECT_FALSE(acs_list_change(
      ev({{"kind", "manual"}, {"addr", "*@x.example"}, {"action", "suppress_permanent"}}), c));
  EXPECT_FALSE(acs_list_change(ev({{"kind", "manual"},
                                   {"addr", "d@x.example"},
                                   {"action", "suppress_permanent"},
                                   {"source", "acs:suppression-list"}}),
                               c));
  c.unsubscribe_lists = {"weekly"};
  EXPECT_TRUE(acs_list_change(
      ev({{"kind", "unsubscribe"}, {"addr", "c@x.example"}, {"list", "weekly"}, {"new", "1"}}), c));
}

TEST(AcsListChange, ReleasesAreRemoved) {
  AcsListsConfig c;
  auto r = acs_list_change(ev({{"kind", "remove"}, {"addr", "a@x.example"}, {"removed", "1"}}), c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->op, AcsListChange::Op::remove);
  EXPECT_FALSE(
      acs_list_change(ev({{"kind", "remove"}, {"addr", "a@x.example"}, {"removed", "0"}}), c));
  EXPECT_TRUE(acs_list_change(
      ev({{"kind", "resubscribe"}, {"addr", "a@x.example"}, {"list", "*"}, {"removed", "1"}}), c));
}

TEST(AcsListShapes, PathsBodiesAndIds) {
  AcsListsConfig c;
  c.subscription_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
  c.resource_group = "mail-rg";
  c.email_service = "mail-es";
  AcsListTarget t{"mail.example.com", "bouncegate", "", ""};
  EXPECT_EQ(acs_address_path(c, t, "a@x.example"),
            "/subscriptions/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/resourceGroups/mail-rg/providers/"
            "Microsoft.Communication/emailServices/mail-es/domains/mail.example.com/"
            "suppressionLists/bouncegate/suppressionListAddresses/" +
                acs_address_id("a@x.example") + "?api-version=2025-09-01");
  // The resource name: ^[a-zA-Z0-9-]+$, the same for the same address, and no address in a URL.
  EXPECT_EQ(acs_address_id("a@x.example"), acs_address_id("a@x.example"));
  EXPECT_NE(acs_address_id("a@x.example"), acs_address_id("b@x.example"));
  EXPECT_EQ(acs_address_id("a@x.example").size(), 43u);
  EXPECT_EQ(acs_address_id("a@x.example").find_first_not_of("bg-0123456789abcdef"),
            std::string::npos);
  EXPECT_EQ(acs_list_body(t), R"({"properties":{"listName":""}})");
  EXPECT_EQ(acs_address_body("a@x.example", "n\"q"),
            R"({"properties":{"email":"a@x.example","notes":"n\"q"}})");
}

TEST(AcsListShapes, APageIsReadStrictly) {
  auto p = parse_acs_address_page(
      R"({"value":[{"name":"a1","properties":{"email":"one@example.net"}}],"nextLink":"https://management.azure.com/x?$skipToken=1"})");
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].second, "one@example.net");
  EXPECT_EQ(p.next_link, "https://management.azure.com/x?$skipToken=1");
  EXPECT_TRUE(parse_acs_address_page(R"({"value":[]})").next_link.empty());
  EXPECT_THROW(parse_acs_address_page(R"({"values":[]})"), std::runtime_error);
  EXPECT_THROW(parse_acs_address_page(R"({"value":[{"name":"a"}]})"), std::runtime_error);
  EXPECT_THROW(parse_acs_address_page("<html>"), std::runtime_error);
}

}  // namespace
}  // namespace bouncegate
