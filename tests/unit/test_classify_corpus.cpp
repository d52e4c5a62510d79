// Measures the shipped classification rules on the Sisimai corpus: for every bounced recipient
// the DSN parser extracts, is bouncegate's hard/not-hard verdict the same as Sisimai's? A wrong
// "hard" loses a customer, so false hard verdicts are pinned with a ceiling, agreement with a
// floor. Sisimai's verdict is one tool's judgement, not ground truth: disagreements are listed.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "core/classify.hpp"
#include "core/dsn.hpp"
#include "core/learn.hpp"
#include "tests/support/corpus.hpp"

namespace bouncegate {
namespace {

// Measured 2026-12-01 (second pass: a recipient's reason ends where the next failed recipient
// or a returned header starts, the reason written before the address is read, Sendmail/qmail
// DNS texts, RFC 7504 521/556 codes, 501/553 with 5.1.1/5.1.3): agreement 87.5%, false hard
// 14.1% (1.0% strict), missed hard 14 of 159 (was 28). Third pass (a transcript's failing
// reply and the command before it, inactivity and localised texts): agreement 87.4%, missed
// hard 13, false hard 14.6% - the rise is two Sisimai "suspend" rows ("account is disabled",
// "Mailbox is frozen"), disabled mailboxes that bouncegate calls hard on purpose; 1.0% strict.
// After the review: 14 missed - sendmail-57's "550 Host does not accept mail" carries Status
// 5.7.27, RFC 7505's code for a null MX of the *sender's* domain, which now outranks the text,
// and 521 5.3.2 alone is no longer hard (Postfix postscreen sends it to blocked clients);
// mcafee-05 "User not exist" is now hard (Sisimai: filtered). Agreement 87.0%.
// Measured 2026-12-01 after the classifier redesign: agreement 84.5%, false hard 14.0% of
// Sisimai's soft rows (1.0% without filtered/suspend), 30 of Sisimai's 160 hard rows missed.
// Before (2026-11): agreement 85.1%, false hard 17.1% of
// Sisimai's soft rows, 3.8% when Sisimai's "filtered" and "suspend" are left out. Those two
// labels mostly carry replies that say "User unknown" or "account disabled" (5.2.1, 5.7.13),
// which ACS's table and bouncegate call hard on purpose. The remaining false hard verdicts
// follow ACS's basic-code table (a bare "550 Rejected"). Raise floors as rules improve.
constexpr double kFloorAgreement = 86.5;         // 87.0% measured
constexpr int kCeilingMissedHard = 14;           // rows Sisimai calls hard that we do not
constexpr double kCeilingFalseHard = 15.0;       // % of rows Sisimai calls soft
constexpr double kCeilingFalseHardStrict = 1.5;  // same, without filtered/suspend

TEST(ClassifyCorpus, HardVerdictAgreesWithSisimaiAndRarelyOverreaches) {
  auto corpus = test::find_corpus();
  ASSERT_FALSE(corpus.empty()) << "Sisimai corpus not found (set BOUNCEGATE_CORPUS)";
  auto rows = test::load_expected(corpus);
  Classifier classifier(default_rule_specs());
  std::map<std::string, ParsedFeedback> parsed;
  int n = 0, agree = 0, false_hard = 0, missed_hard = 0, sisimai_soft = 0, sisimai_hard = 0;
  int strict_soft = 0, strict_false_hard = 0;
  std::map<std::string, std::pair<int, int>> by_reason;  // reason -> (rows, we said hard)
  std::vector<std::string> disagreements;
  for (const auto& r : rows) {
    std::string family = test::family_of(r.eml);
    if (family == "arf" || family == "rfc3834") continue;  // complaints and auto-replies
    if (!parsed.count(r.eml))
      parsed[r.eml] = parse_feedback(test::read_file(corpus / "eml" / r.eml));
    const auto& p = parsed[r.eml];
    if (r.index < 1 || r.index > p.recipients.size()) continue;  // extraction is measured elsewhere
    const FailedRecipient& fr = p.recipients[r.index - 1];
    DsnReply dsn = reply_for_dsn_recipient(fr);
    Classification c = classifier.classify(dsn.command, dsn.reply);
    bool ours = c.cls == OutcomeClass::hard;
    ++n;
    (r.hardbounce ? sisimai_hard : sisimai_soft)++;
    bool strict = r.reason != "filtered" && r.reason != "suspend";
    if (!r.hardbounce && strict) {
      ++strict_soft;
      strict_false_hard += ours;
    }
    auto& br = by_reason[r.reason];
    ++br.first;
    br.second += ours;
    if (ours == r.hardbounce) {
      ++agree;
    } else {
      if (ours)
        ++false_hard;
      else
        ++missed_hard;
      disagreements.push_back(r.eml + "#" + std::to_string(r.index) + " sisimai=" + r.reason +
                              (r.hardbounce ? "(hard)" : "(soft)") +
                              " ours=" + (ours ? "hard" : "not hard") + " rule=" + c.rule_id +
                              " cmd=" + std::string(to_string(dsn.command)) +
                              " status=" + fr.status + " diag=" + fr.diagnostic.substr(0, 90));
    }
  }
  ASSERT_GT(n, 300) << "too few corpus rows classified";
  double agreement = 100.0 * agree / n;
  double false_hard_pct = 100.0 * false_hard / std::max(1, sisimai_soft);
  std::printf("%-16s %6s %10s\n", "sisimai reason", "rows", "ours hard");
  for (const auto& [reason, t] : by_reason)
    std::printf("%-16s %6d %10d\n", reason.c_str(), t.first, t.second);
  std::printf(
      "rows %d, agreement %.1f%%, false hard %d of %d soft (%.1f%%), missed hard %d of %d\n", n,
      agreement, false_hard, sisimai_soft, false_hard_pct, missed_hard, sisimai_hard);
  if (std::getenv("BOUNCEGATE_CORPUS_VERBOSE"))
    for (const auto& d : disagreements) std::printf("  %s\n", d.c_str());
  EXPECT_GE(agreement, kFloorAgreement);
  EXPECT_LE(false_hard_pct, kCeilingFalseHard);
  EXPECT_LE(missed_hard, kCeilingMissedHard);
  double strict_pct = 100.0 * strict_false_hard / std::max(1, strict_soft);
  std::printf("false hard without filtered/suspend: %d of %d (%.1f%%)\n", strict_false_hard,
              strict_soft, strict_pct);
  EXPECT_LE(strict_pct, kCeilingFalseHardStrict);
}

}  // namespace
}  // namespace bouncegate
