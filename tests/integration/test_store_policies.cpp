// Store policies beyond one address's entry, against a real redis-server: domain entries
// ("*@domain", with sub-domains when asked) decided inside the one gate round trip, and
// soft-bounce escalation counted inside the record script.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/address.hpp"
#include "core/learn.hpp"
#include "core/policy.hpp"
#include "core/store.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

class StorePolicyTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Config> config(const std::string& extra = "") {
    return load_config_text(test::config_yaml(redis_.port(), "[24h, 48h, 96h, 7d, 14d]", extra),
                            "test.yaml");
  }
  OutcomeRecord domain_entry(const std::string& name, bool subdomains) {
    OutcomeRecord o;
    o.address = name;
    o.cls = OutcomeClass::hard;
    o.action = Action::suppress_permanent;
    o.origin = RecordOrigin::manual;
    o.reason = "legal hold";
    o.subdomains = subdomains;
    o.ctx.source = Source::cli;
    return o;
  }
  std::string key_file() {
    return dir_.file("unsub.key",
                     "8f1c0d2e3b4a59687766554433221100ffeeddccbbaa99887766554433221100\n");
  }
  test::RedisServer redis_;
  test::TempDir dir_;
  EventContext ctx_{"Q1", "", Source::milter, ""};
};

TEST(DomainEntryNames, NormalisedLikeMailboxesAndNeverATopLevelDomain) {
  auto a = normalize_entry_address("*@Example.COM.");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->address, "*@example.com");
  EXPECT_TRUE(is_domain_entry(a->address));
  std::string why;
  EXPECT_FALSE(normalize_entry_address("*@com", &why));
  EXPECT_NE(why.find("two labels"), std::string::npos);
  EXPECT_FALSE(normalize_entry_address("*@", &why));
  EXPECT_FALSE(is_domain_entry("user@example.com"));
  // A recipient spelled "*@domain" is not a mailbox bouncegate keys on: it would reach the
  // domain entry (a learned bounce would suppress the whole domain).
  EXPECT_FALSE(normalize_address("*@gmail.com", &why));
  EXPECT_NE(why.find("reserved"), std::string::npos);
  EXPECT_FALSE(normalize_address("\"*\"@Gmail.com"));
  EXPECT_EQ(domain_entries_for("a.b.example.co.uk"),
            (std::vector<std::string>{"*@a.b.example.co.uk", "*@b.example.co.uk", "*@example.co.uk",
                                      "*@co.uk"}));
  EXPECT_EQ(domain_entries_for("example.com"), std::vector<std::string>{"*@example.com"});
}

TEST_F(StorePolicyTest, DomainEntryRefusesEveryRecipientOfTheDomainOnly) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  store.record(domain_entry("*@held.example", false));
  auto d = store.gate("anyone@held.example", "", ctx_);
  ASSERT_EQ(d.result, GateResult::reject);
  ASSERT_TRUE(d.entry);
  EXPECT_EQ(d.entry->address, "*@held.example");
  EXPECT_EQ(d.entry->ttl_ms, -1);
  EXPECT_EQ(store.gate("other@held.example", "", ctx_).result, GateResult::reject);
  // Without subdomains, a sub-domain and a look-alike pass.
  EXPECT_EQ(store.gate("x@mail.held.example", "", ctx_).result, GateResult::pass);
  EXPECT_EQ(store.gate("x@notheld.example", "", ctx_).result, GateResult::pass);
  auto e = store.get("*@held.example");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->hits, 2);
  // The gate event says which entry decided.
  bool seen = false;
  for (const auto& ev : store.events_since(0))
    seen = seen || (ev.get("addr") == "other@held.example" && ev.get("entry") == "*@held.example");
  EXPECT_TRUE(seen);
}

TEST_F(StorePolicyTest, SubdomainsWhenAskedAndNearestEntryFirst) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  store.record(domain_entry("*@dead.example", true));
  auto d = store.gate("a@mx1.eu.dead.example", "", ctx_);
  ASSERT_EQ(d.result, GateResult::reject);
  EXPECT_EQ(d.entry->address, "*@dead.example");
  EXPECT_TRUE(d.entry->subdomains);
  // A nearer domain entry decides first, and the address's own entry before any domain's.
  OutcomeRecord near = domain_entry("*@eu.dead.example", false);
  near.cls = OutcomeClass::complaint;
  store.record(near);
  EXPECT_EQ(store.gate("b@eu.dead.example", "", ctx_).entry->address, "*@eu.dead.example");
  OutcomeRecord own;
  own.address = "c@dead.example";
  own.cls = OutcomeClass::hard;
  own.action = Action::suppress;
  own.ctx.source = Source::relay;
  store.record(own);
  auto mine = store.gate("c@dead.example", "", ctx_);
  EXPECT_EQ(mine.entry->address, "c@dead.example");
  EXPECT_EQ(mine.entry->level, 1);
}

TEST_F(StorePolicyTest, DomainLeaseIsNotSteppedByTraffic) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  OutcomeRecord o = domain_entry("*@nxdomain.example", false);
  o.action = Action::suppress;
  store.record(o);
  for (int i = 0; i < 5; ++i) {
    auto d = store.gate("u" + std::to_string(i) + "@nxdomain.example", "", ctx_);
    ASSERT_EQ(d.result, GateResult::reject);
    EXPECT_EQ(d.entry->level, 0);
    EXPECT_NEAR(d.entry->ttl_ms, 24 * 3600'000.0, 5000);
  }
  // Shadow asks step nothing and count no hit.
  store.gate("z@nxdomain.example", "", ctx_, true);
  EXPECT_EQ(store.get("*@nxdomain.example")->hits, 5);
  EXPECT_TRUE(store.remove("*@nxdomain.example", EventContext{}));
  EXPECT_EQ(store.gate("u1@nxdomain.example", "", ctx_).result, GateResult::pass);
}

OutcomeRecord learned(const Config& cfg, const std::string& addr, const std::string& reply,
                      const std::string& queue_id = "") {
  EventContext ctx;
  ctx.source = Source::relay;
  ctx.queue_id = queue_id;
  return learn_from_reply(cfg, addr, SmtpCommand::rcpt, parse_reply(reply), ctx).record;
}

constexpr const char* kEscalation =
    "  escalation:\n    soft: {after: 3, within: 1h, ladder: [2h, 6h]}\n";  // under suppression:

TEST_F(StorePolicyTest, SoftOutcomesAboutTheMailboxEscalateOnTheirOwnLadder) {
  auto cfg = config(kEscalation);
  SuppressionStore store(cfg->redis, cfg->suppression);
  const std::string full = "452 4.2.2 The email account that you tried to reach is over quota";
  auto first = learned(*cfg, "full@example.net", full, "4QA");
  ASSERT_EQ(first.cls, OutcomeClass::soft);
  ASSERT_TRUE(first.about_mailbox);
  EXPECT_FALSE(store.record(first));
  // Postfix retrying the same message (same queue id) counts once, however often.
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(store.record(learned(*cfg, "full@example.net", full, "4QA")));
  EXPECT_FALSE(store.record(learned(*cfg, "full@example.net", full, "4QB")));
  EXPECT_EQ(store.gate("full@example.net", "", ctx_).result, GateResult::pass);
  auto third = store.record(learned(*cfg, "full@example.net", full, "4QC"));
  ASSERT_TRUE(third) << "the third message with a soft outcome within the window escalates";
  EXPECT_EQ(third->action, Action::defer) << "by default a 450: Postfix keeps the mail";
  EXPECT_EQ(third->cls, OutcomeClass::soft);
  EXPECT_NEAR(third->ttl_ms, 2 * 3600'000.0, 5000);
  EXPECT_NE(store.get("full@example.net")->reason.find("escalated: 3 messages"), std::string::npos);
  // A hit steps along the escalation ladder, capped at its last step.
  auto d = store.gate("full@example.net", "", ctx_);
  ASSERT_EQ(d.result, GateResult::defer);
  EXPECT_NEAR(d.entry->ttl_ms, 6 * 3600'000.0, 5000);
  EXPECT_NEAR(store.gate("full@example.net", "", ctx_).entry->ttl_ms, 6 * 3600'000.0, 5000);
  // A hard bounce later replaces the soft ladder with the main one (level 1 -> 2: 96h).
  auto hard = store.record(learned(*cfg, "full@example.net", "550 5.1.1 user unknown"));
  ASSERT_TRUE(hard);
  EXPECT_EQ(hard->cls, OutcomeClass::hard);
  EXPECT_NEAR(store.gate("full@example.net", "", ctx_).entry->ttl_ms, 96 * 3600'000.0, 5000);
  // Removed by an operator: counting starts again from nothing.
  store.remove("full@example.net", EventContext{});
  EXPECT_FALSE(store.record(learned(*cfg, "full@example.net", full, "4QD")));
  EXPECT_EQ(store.gate("full@example.net", "", ctx_).result, GateResult::pass);
}

TEST_F(StorePolicyTest, EscalationLevelStaysOnTheLadderWhenAHardBounceReplacesALongerOne) {
  auto cfg =
      config("  escalation:\n    soft: {after: 2, ladder: [1h, 2h, 3h, 4h, 5h, 6h, 7h, 8h]}\n");
  SuppressionStore store(cfg->redis, cfg->suppression);
  const std::string full = "452 4.2.2 mailbox full";
  store.record(learned(*cfg, "long@example.net", full, "A"));
  ASSERT_TRUE(store.record(learned(*cfg, "long@example.net", full, "B")));
  for (int i = 0; i < 7; ++i) store.gate("long@example.net", "", ctx_);
  EXPECT_EQ(store.get("long@example.net")->level, 7);
  // The main ladder has 5 steps: the level is capped at its last one, never past it.
  auto hard = store.record(learned(*cfg, "long@example.net", "550 5.1.1 user unknown"));
  ASSERT_TRUE(hard);
  EXPECT_NEAR(hard->ttl_ms, 14 * 24 * 3600'000.0, 5000);
  EXPECT_EQ(store.gate("long@example.net", "", ctx_).result, GateResult::reject);
}

TEST_F(StorePolicyTest, SoftOutcomesAboutOthersNeverEscalate) {
  auto cfg = config(kEscalation);
  SuppressionStore store(cfg->redis, cfg->suppression);
  // Greylisting and DNS trouble are soft, but about the network, not the mailbox.
  for (int i = 0; i < 5; ++i) {
    auto grey = learned(*cfg, "grey@example.net", "451 4.7.1 Greylisted, please try again later",
                        "Q" + std::to_string(i));
    ASSERT_EQ(grey.cls, OutcomeClass::soft) << grey.rule;
    EXPECT_FALSE(grey.about_mailbox);
    EXPECT_FALSE(store.record(grey));
  }
  EXPECT_EQ(store.gate("grey@example.net", "", ctx_).result, GateResult::pass);
  // A downgraded outcome (a delayed DSN, a reply about the message) never counts.
  for (int i = 0; i < 5; ++i) {
    auto o = learned(*cfg, "msg@example.net", "452 4.2.2 mailbox full", "Q" + std::to_string(i));
    downgrade_to_record(o);
    EXPECT_FALSE(store.record(o));
  }
  EXPECT_EQ(store.gate("msg@example.net", "", ctx_).result, GateResult::pass);
  // Default configuration: escalation is off.
  auto plain = config();
  SuppressionStore off(plain->redis, plain->suppression);
  for (int i = 0; i < 5; ++i)
    off.record(learned(*plain, "off@example.net", "452 4.2.2 full", "Q" + std::to_string(i)));
  EXPECT_EQ(off.gate("off@example.net", "", ctx_).result, GateResult::pass);
}

TEST_F(StorePolicyTest, SenderPolicyLetsItsClassesThroughAndNothingElse) {
  auto cfg = config(
      "unsubscribe: {key_files: [" + key_file() +
      "], url_base: 'https://u.example/u/', lists: [{id: news, sender: '*@shop.example'}]}\n"
      "policies:\n  - {name: transactional, senders: ['receipts@shop.example'], "
      "bypass: [complaint, unsubscribe]}\n  - {name: digest, lists: [news], bypass: [soft]}\n");
  SuppressionStore store(cfg->redis, cfg->suppression);
  const SenderPolicy* tx = policy_for(cfg->policies, "receipts@shop.example", "news");
  ASSERT_TRUE(tx);
  EXPECT_EQ(tx->name, "transactional");
  EXPECT_EQ(policy_for(cfg->policies, "letters@shop.example", "news")->name, "digest");
  EXPECT_FALSE(policy_for(cfg->policies, "app@other.example", ""));
  const std::string bypass = gate_bypass(tx);
  EXPECT_EQ(bypass, ",complaint,unsubscribe,");
  OutcomeRecord c;
  c.address = "angry@example.net";
  c.cls = OutcomeClass::complaint;
  c.action = Action::suppress_permanent;
  c.ctx.source = Source::arf;
  store.record(c);
  store.unsubscribe("left@example.net", "news", EventContext{});
  store.record(learned(*cfg, "dead@example.net", "550 5.1.1 user unknown"));
  EXPECT_EQ(store.gate("angry@example.net", "news", ctx_, false, GateScope::all, bypass).result,
            GateResult::pass);
  EXPECT_EQ(store.gate("left@example.net", "news", ctx_, false, GateScope::all, bypass).result,
            GateResult::pass);
  EXPECT_EQ(store.gate("dead@example.net", "news", ctx_, false, GateScope::all, bypass).result,
            GateResult::reject)
      << "a dead address stays refused for every stream";
  EXPECT_EQ(store.get("angry@example.net")->hits, 0) << "a bypass is not a hit";
  // Without the policy the same recipients are refused.
  EXPECT_EQ(store.gate("angry@example.net", "news", ctx_).result, GateResult::reject);
  EXPECT_EQ(store.gate("left@example.net", "news", ctx_).result, GateResult::unsubscribed);
  bool logged = false;
  for (const auto& ev : store.events_since(0))
    logged = logged || (ev.get("addr") == "angry@example.net" && ev.get("result") == "bypass");
  EXPECT_TRUE(logged);
  // A bypassed own entry does not hide a domain entry that the policy does not bypass.
  OutcomeRecord hold;
  hold.address = "*@example.net";
  hold.cls = OutcomeClass::hard;
  hold.action = Action::suppress_permanent;
  hold.origin = RecordOrigin::manual;
  store.record(hold);
  auto d = store.gate("angry@example.net", "news", ctx_, false, GateScope::all, bypass);
  EXPECT_EQ(d.result, GateResult::reject);
  EXPECT_EQ(d.entry->address, "*@example.net");
  // Only a sender written as its canonical form picks a policy (ASCII case and <> aside).
  EXPECT_EQ(policy_sender("<Receipts@Shop.Example>", "receipts@shop.example"),
            "receipts@shop.example");
  EXPECT_EQ(policy_sender("receipts@\xef\xbd\x93hop.example", "receipts@shop.example"), "");
  EXPECT_EQ(policy_sender("receipts@shop.example.", "receipts@shop.example"), "");
}

TEST_F(StorePolicyTest, AnExpiryNotYetSweptIsReportedBeforeTheEntryReturns) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  OutcomeRecord o = learned(*cfg, "back@example.net", "550 5.1.1 user unknown");
  o.ttl = Millis(150);
  store.record(o);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  store.record(learned(*cfg, "back@example.net", "550 5.1.1 user unknown"));
  EXPECT_EQ(store.sweep_expired(), 0u) << "already reported by the record";
  size_t expired = 0;
  for (const auto& ev : store.events_since(0))
    expired += ev.get("kind") == "expired" && ev.get("addr") == "back@example.net";
  EXPECT_EQ(expired, 1u);
  // The same when an operator removes the address after its lease ran out, before the sweep.
  OutcomeRecord o2 = learned(*cfg, "gone@example.net", "550 5.1.1 user unknown");
  o2.ttl = Millis(150);
  store.record(o2);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  store.remove("gone@example.net", EventContext{});
  EXPECT_EQ(store.sweep_expired(), 0u);
  expired = 0;
  for (const auto& ev : store.events_since(0))
    expired += ev.get("kind") == "expired" && ev.get("addr") == "gone@example.net";
  EXPECT_EQ(expired, 1u);
}

TEST(PolicyConfig, BadPoliciesNameTheLine) {
  auto bad = [](const std::string& yaml) {
    try {
      load_config_text("redis: {address: 127.0.0.1:1}\npolicies:\n" + yaml, "p.yaml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(bad("  - {name: a, senders: ['x@y.example'], bypass: [nonsense]}\n").find("p.yaml:3"),
            std::string::npos);
  EXPECT_NE(bad("  - {name: a, bypass: [complaint]}\n").find("senders or lists"),
            std::string::npos);
  EXPECT_NE(bad("  - {name: a, lists: [nolist], bypass: [complaint]}\n").find("nolist"),
            std::string::npos);
  EXPECT_NE(bad("  - {name: a, senders: ['x@y.example']}\n").find("bypass"), std::string::npos);
  // A list known only by List-Id is never known at RCPT: refused, not silently ignored.
  try {
    load_config_text(
        "redis: {address: 127.0.0.1:1}\nunsubscribe: {key_files: [/nonexistent], url_base: "
        "'https://u.example/u/', lists: [{id: l1, list_id: '*.lists.example'}]}\npolicies:\n"
        "  - {name: a, lists: [l1], bypass: [unsubscribe]}\n",
        "p.yaml");
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("List-Id only"), std::string::npos) << e.what();
  }
  EXPECT_EQ(bad("  - {name: a, senders: ['*@y.example'], bypass: [unsubscribe]}\n"), "accepted");
}

TEST(EscalationConfig, OnlySoftEscalatesAndBadValuesNameTheLine) {
  auto bad = [](const std::string& yaml) {
    try {
      load_config_text("redis: {address: 127.0.0.1:1}\nsuppression:\n  escalation:\n" + yaml,
                       "e.yaml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(bad("    reputation: {after: 3}\n").find("e.yaml:4"), std::string::npos);
  EXPECT_NE(bad("    reputation: {after: 3}\n").find("only soft"), std::string::npos);
  EXPECT_NE(bad("    soft: {after: 1}\n").find("e.yaml:4"), std::string::npos);
  EXPECT_NE(bad("    soft: {ladder: [7d, 1d]}\n").find("shrink"), std::string::npos);
  EXPECT_EQ(bad("    soft: {after: 4, within: 3d}\n"), "accepted");
}

// The gate's precheck (SuppressionStore::gate_precheck_command): a recipient with no key the
// script could read passes without running it; one with any such key is decided by the script,
// as before, even when the answer is "pass" (a parent's entry without sub-domains, an
// unsubscribe from another list, an entry of a class the sender's policy lets through).
TEST_F(StorePolicyTest, TheScriptRunsOnlyWhenAKeyCouldDecide) {
  auto cfg = config();
  SuppressionStore store(cfg->redis, cfg->suppression);
  auto scripts = [&] {
    std::string info = redis_.cli({"INFO", "commandstats"});
    long n = 0;
    for (const char* cmd : {"cmdstat_evalsha:calls=", "cmdstat_eval:calls="})
      if (auto at = info.find(cmd); at != std::string::npos)
        n += std::stol(info.substr(at + std::strlen(cmd)));
    return n;
  };
  store.record(domain_entry("*@held.example", false));
  EventContext web{"", "", Source::web, ""};
  store.unsubscribe("reader@example.com", "news", web);
  // The gate script's first run loads it (a NOSCRIPT, then EVAL): not counted below.
  EXPECT_EQ(store.gate("z@held.example", "", ctx_).result, GateResult::reject);
  long before = scripts();
  EXPECT_EQ(store.gate("clean@example.com", "news", ctx_).result, GateResult::pass);
  EXPECT_EQ(store.gate("clean@other.example", "", ctx_).result, GateResult::pass);
  EXPECT_EQ(store.gate("reader@example.com", "", ctx_).result, GateResult::pass);
  EXPECT_EQ(scripts(), before);  // nothing to find: no script
  EXPECT_EQ(store.gate("x@mail.held.example", "", ctx_).result, GateResult::pass);
  EXPECT_EQ(store.gate("reader@example.com", "offers", ctx_).result, GateResult::pass);
  EXPECT_EQ(scripts(), before + 2);  // a key exists: the script decides, and passes
  EXPECT_EQ(store.gate("reader@example.com", "news", ctx_).result, GateResult::unsubscribed);
  EXPECT_EQ(store.gate("y@held.example", "", ctx_).result, GateResult::reject);
  EXPECT_EQ(scripts(), before + 4);
}

}  // namespace
}  // namespace bouncegate
