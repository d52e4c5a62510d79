// The mappings beside the reply rules are data: the shipped file loads, covers every class, and
// keeps the judgements the product promises (ACS's status alone never suppresses, a delayed
// DSN never suppresses); a broken file is refused.
#include <gtest/gtest.h>

#include "core/mappings.hpp"

namespace bouncegate {
namespace {

TEST(Mappings, ShippedFileCoversEveryClassOnce) {
  const Mappings& m = shipped_mappings();
  EXPECT_EQ(m.default_actions.size(), static_cast<size_t>(kOutcomeClassCount));
  for (auto [cls, act] : m.default_actions) {
    const bool about_mailbox = cls == OutcomeClass::hard || cls == OutcomeClass::complaint ||
                               cls == OutcomeClass::unsubscribe ||
                               cls == OutcomeClass::upstream_suppressed;
    // When unsure, never suppress: only classes about the recipient's mailbox do.
    if (!about_mailbox) {
      EXPECT_EQ(act, Action::record) << to_string(cls);
    }
  }
}

TEST(Mappings, AcsStatusAloneNeverSuppresses) {
  const Mappings& m = shipped_mappings();
  for (const char* s : {"Failed", "Bounced", "Quarantined"}) {
    ASSERT_TRUE(m.acs(s)) << s;
    EXPECT_TRUE(m.acs(s)->through_rules) << s;
    EXPECT_NE(m.acs(s)->cls, OutcomeClass::hard) << s;
  }
  ASSERT_TRUE(m.acs("Expanded"));
  EXPECT_FALSE(m.acs("Expanded")->outcome);
  EXPECT_EQ(m.acs("Suppressed")->cls, OutcomeClass::upstream_suppressed);
  EXPECT_EQ(m.acs("NoSuchStatus"), nullptr);
}

TEST(Mappings, DsnActions) {
  const Mappings& m = shipped_mappings();
  EXPECT_TRUE(m.dsn("failed")->through_rules);
  EXPECT_TRUE(m.dsn("delayed")->never_suppress);
  EXPECT_EQ(m.dsn("delivered")->cls, OutcomeClass::delivered);
  EXPECT_FALSE(m.dsn("relayed")->outcome);
  EXPECT_FALSE(m.dsn("expanded")->outcome);
}

TEST(Mappings, BrokenFilesAreRefused) {
  EXPECT_THROW(parse_mappings("acs_status: []\ndsn_action: []\n"), std::logic_error);
  EXPECT_THROW(parse_mappings("default_actions:\n  - {class: hard, action: suppress, why: x}\n"
                              "acs_status: []\ndsn_action: []\n"),
               std::logic_error);
}

}  // namespace
}  // namespace bouncegate
