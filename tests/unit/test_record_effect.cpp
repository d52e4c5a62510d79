// core/record_effect.hpp: which recorded outcomes can change a gate answer (what a relay
// session waits for before gating again) and which count toward escalation.
#include <gtest/gtest.h>

#include "core/record_effect.hpp"

namespace bouncegate {
namespace {

OutcomeRecord outcome(OutcomeClass c, Action a, bool about_mailbox = false) {
  OutcomeRecord o;
  o.address = "someone@example.net";
  o.cls = c;
  o.action = a;
  o.about_mailbox = about_mailbox;
  return o;
}

TEST(RecordEffect, EntriesAndUnsubscribesChangeTheGateDeliveriesDoNot) {
  SuppressionConfig sup;
  EXPECT_TRUE(may_change_gate(sup, outcome(OutcomeClass::hard, Action::suppress)));
  EXPECT_TRUE(may_change_gate(sup, outcome(OutcomeClass::complaint, Action::suppress_permanent)));
  EXPECT_TRUE(may_change_gate(sup, outcome(OutcomeClass::soft, Action::defer)));
  EXPECT_TRUE(may_change_gate(sup, outcome(OutcomeClass::unsubscribe, Action::reject)));
  EXPECT_FALSE(may_change_gate(sup, outcome(OutcomeClass::delivered, Action::record)));
  EXPECT_FALSE(may_change_gate(sup, outcome(OutcomeClass::reputation, Action::record)));
  EXPECT_FALSE(may_change_gate(sup, outcome(OutcomeClass::unknown, Action::ignore)));
  // The upstream's own suppression list steps an existing lease.
  auto stepped = outcome(OutcomeClass::upstream_suppressed, Action::record);
  stepped.steps_lease = true;
  EXPECT_TRUE(may_change_gate(sup, stepped));
}

TEST(RecordEffect, ASoftOutcomeChangesTheGateOnlyWhereItCanEscalate) {
  SuppressionConfig sup;
  auto soft = outcome(OutcomeClass::soft, Action::record, true);
  EXPECT_FALSE(counts_toward_escalation(sup, soft));
  EXPECT_FALSE(may_change_gate(sup, soft));
  sup.escalation[OutcomeClass::soft] = EscalationPolicy{};
  EXPECT_TRUE(counts_toward_escalation(sup, soft));
  EXPECT_TRUE(may_change_gate(sup, soft));
  // Not about the mailbox, not the domain's outcome, unverified feedback: never counted.
  auto about_sender = outcome(OutcomeClass::soft, Action::record, false);
  EXPECT_FALSE(may_change_gate(sup, about_sender));
  auto ours = soft;
  ours.counts_for_domain = false;
  EXPECT_FALSE(counts_toward_escalation(sup, ours));
  auto unverified = soft;
  unverified.verified = "no";
  EXPECT_FALSE(counts_toward_escalation(sup, unverified));
  auto manual = soft;
  manual.origin = RecordOrigin::manual;
  EXPECT_FALSE(counts_toward_escalation(sup, manual));
}

}  // namespace
}  // namespace bouncegate
