// The fleet's upstream connection slots (core/lua/slots.lua) against a real redis-server: the
// cap holds across relays, a released slot is free at once, and an unrenewed one lapses.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/store.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

class FleetSlotStoreTest : public ::testing::Test {
 protected:
  SuppressionStore store() {
    auto cfg = load_config_text(test::config_yaml(redis_.port(), "[24h, 48h, 96h, 7d, 14d]", ""),
                                "test.yaml");
    return SuppressionStore(cfg->redis, cfg->suppression);
  }
  test::RedisServer redis_;
};

TEST_F(FleetSlotStoreTest, TheCapHoldsAcrossRelaysAndAReleaseFreesASlot) {
  auto a = store();
  auto b = store();  // a second relay on the same Redis
  const Millis ttl = std::chrono::seconds(30);
  EXPECT_TRUE(a.claim_upstream_slot("a:1", 2, ttl));
  EXPECT_TRUE(b.claim_upstream_slot("b:1", 2, ttl));
  EXPECT_FALSE(b.claim_upstream_slot("b:2", 2, ttl));
  EXPECT_FALSE(a.claim_upstream_slot("a:2", 2, ttl));
  // Claiming a slot already held renews it and does not count twice.
  EXPECT_TRUE(a.claim_upstream_slot("a:1", 2, ttl));
  a.release_upstream_slots({"a:1"});
  EXPECT_TRUE(b.claim_upstream_slot("b:2", 2, ttl));
  EXPECT_FALSE(a.claim_upstream_slot("a:3", 2, ttl));
  EXPECT_EQ(redis_.cli({"ZCARD", "bg:upstream:slots"}), "2\n");
}

TEST_F(FleetSlotStoreTest, ASlotNotRenewedLapsesAndARenewedOneStays) {
  auto dead = store();  // a relay that stops renewing (killed)
  auto live = store();
  const Millis ttl = std::chrono::milliseconds(1500);
  ASSERT_TRUE(dead.claim_upstream_slot("dead:1", 2, ttl));
  ASSERT_TRUE(live.claim_upstream_slot("live:1", 2, ttl));
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    live.renew_upstream_slots({"live:1"}, ttl);
  }
  // 2 s on: the dead relay's slot lapsed, the live one's (renewed every 0.5 s) did not.
  EXPECT_TRUE(live.claim_upstream_slot("live:2", 2, ttl));
  EXPECT_FALSE(live.claim_upstream_slot("live:3", 2, ttl));
  EXPECT_EQ(redis_.cli({"ZSCORE", "bg:upstream:slots", "dead:1"}), "\n");
}

TEST_F(FleetSlotStoreTest, ARenewAfterALapseTakesTheSlotBack) {
  // Redis was out of reach longer than the lapse time: the relay's connection is still open,
  // so the renewal counts it again (the cap may be over by that many until they close).
  auto a = store();
  ASSERT_TRUE(a.claim_upstream_slot("a:1", 1, Millis(100)));
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  a.renew_upstream_slots({"a:1"}, std::chrono::seconds(30));  // renew: only while it is there
  EXPECT_EQ(redis_.cli({"ZCARD", "bg:upstream:slots"}), "0\n");
  a.renew_upstream_slots({"a:1"}, std::chrono::seconds(30), /*readd=*/true);
  EXPECT_FALSE(a.claim_upstream_slot("b:1", 1, std::chrono::seconds(30)));
}

TEST_F(FleetSlotStoreTest, ARenewNeverBringsBackASlotGivenBack) {
  // A relay's renewal and its release of one slot race (two pool threads): the release wins.
  auto a = store();
  ASSERT_TRUE(a.claim_upstream_slot("a:1", 1, std::chrono::seconds(30)));
  a.release_upstream_slots({"a:1"});
  a.renew_upstream_slots({"a:1"}, std::chrono::seconds(30));
  EXPECT_TRUE(a.claim_upstream_slot("b:1", 1, std::chrono::seconds(30)));
}

}  // namespace
}  // namespace bouncegate
