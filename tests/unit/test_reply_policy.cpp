// The replies bouncegate sends, composed in one place: gated recipients (templates filled from
// the entry, never broken onto a second line), store failures and upstream trouble (4xx).
#include <gtest/gtest.h>

#include "core/config.hpp"
#include "core/reply_policy.hpp"
#include "core/store_failure.hpp"

namespace bouncegate {
namespace {

const SuppressionConfig& sup() {
  static auto c = load_config_text("redis: {}\n", "t.yaml");
  return c->suppression;
}

GateDecision decision(GateResult r, OutcomeClass cls, Action a, int64_t ttl_ms) {
  GateDecision d;
  d.result = r;
  Entry e;
  e.cls = cls;
  e.action = a;
  e.code = "550 5.1.1";
  e.level = 1;
  e.ttl_ms = ttl_ms;
  d.entry = e;
  return d;
}

TEST(GateReply, EachDecisionHasItsReplyKind) {
  auto hard = gate_reply(
      sup(), decision(GateResult::reject, OutcomeClass::hard, Action::suppress, 48 * 3'600'000ll),
      "dead@example.com");
  EXPECT_EQ(hard.code[0], '5');
  EXPECT_NE(hard.line().find("dead@example.com"), std::string::npos) << hard.line();
  auto soft =
      gate_reply(sup(), decision(GateResult::defer, OutcomeClass::soft, Action::defer, 3'600'000),
                 "full@example.com");
  EXPECT_EQ(soft.code[0], '4') << soft.line();
  auto complaint = gate_reply(
      sup(), decision(GateResult::reject, OutcomeClass::complaint, Action::suppress_permanent, -1),
      "angry@example.com");
  EXPECT_NE(complaint.line(), hard.line());
  GateDecision u;
  u.result = GateResult::unsubscribed;
  u.list = "news";
  auto unsub = gate_reply(sup(), u, "gone@example.com");
  EXPECT_EQ(unsub.line().rfind("550 5.7.1", 0), 0u) << unsub.line();
  EXPECT_NE(unsub.line().find("news"), std::string::npos) << unsub.line();
}

TEST(GateReply, StoredTextNeverBreaksTheReplyLine) {
  auto d = decision(GateResult::reject, OutcomeClass::hard, Action::suppress, 1000);
  d.entry->code = "550\r\n250 ok";
  auto r = gate_reply(sup(), d, "x@example.com");
  EXPECT_EQ(r.line().find('\n'), std::string::npos) << r.line();
  EXPECT_EQ(r.line().find('\r'), std::string::npos) << r.line();
}

TEST(StoreFailure, TempfailWithTheConfiguredReplyAcceptAndShadow) {
  auto t = store_failure_verdict(StoreErrorMode::tempfail, false);
  EXPECT_TRUE(t.refuse);
  EXPECT_EQ(t.reply.line(), std::string(kDefaultStoreErrorReply));
  EXPECT_FALSE(store_failure_verdict(StoreErrorMode::accept, false).refuse);
  EXPECT_FALSE(store_failure_verdict(StoreErrorMode::tempfail, true).refuse)
      << "shadow mode never refuses";
  EXPECT_EQ(store_failure_verdict(StoreErrorMode::tempfail, false, "452 4.3.0 busy").reply.code,
            "452");
  EXPECT_EQ(upstream_failure_reply(UpstreamFault::store_unavailable).line(),
            std::string(kDefaultStoreErrorReply));
}

TEST(UpstreamFailure, EveryFaultIsTemporary) {
  for (auto f :
       {UpstreamFault::connect_failed, UpstreamFault::tls_failed, UpstreamFault::auth_failed,
        UpstreamFault::lost_during_data, UpstreamFault::timeout, UpstreamFault::protocol_error,
        UpstreamFault::throttled, UpstreamFault::store_unavailable})
    EXPECT_EQ(upstream_failure_reply(f).code[0], '4');
}

}  // namespace
}  // namespace bouncegate
