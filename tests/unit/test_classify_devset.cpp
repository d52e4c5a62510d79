// Measures the shipped rules on tests/data/provider_replies.tsv: replies documented publicly by
// large receivers and gateways, each with the verdict its documentation gives. The figures that
// matter are pinned: no reply that does not prove a dead address may be called hard, and the
// share of dead addresses recognised may not fall.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "core/classify.hpp"
#include "core/received_reply.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

struct Row {
  std::string provider, stage, reply, truth, source;
  int line = 0;
};

std::vector<Row> load_devset(const std::string& file) {
  std::ifstream in(test::source_path(file));
  std::vector<Row> rows;
  std::string line;
  int n = 0;
  bool header = true;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    if (header) {
      header = false;
      continue;
    }
    std::istringstream is(line);
    Row r;
    r.line = n;
    std::getline(is, r.provider, '\t');
    std::getline(is, r.stage, '\t');
    std::getline(is, r.reply, '\t');
    std::getline(is, r.truth, '\t');
    std::getline(is, r.source, '\t');
    rows.push_back(r);
  }
  return rows;
}

SmtpCommand command_for_stage(const std::string& stage) {
  if (stage == "rcpt") return SmtpCommand::rcpt;
  if (stage == "data_end") return SmtpCommand::data_end;
  if (stage == "mail") return SmtpCommand::mail;
  if (stage == "connect") return SmtpCommand::connect;
  return SmtpCommand::any;
}

// Measured 2026-12-01 (the table this test prints is in docs/classification.md): 0 false hard
// verdicts in 222 replies that do not prove a dead address, 69 of 78 dead addresses recognised
// (88.5%). The goal is 95%; the nine misses are mostly RFC 5321's generic "mailbox
// unavailable" texts, which other receivers use for policy refusals, and the stage rule (a
// DATA-end refusal without a 5.1.x code). Before the redesign: 26 false hard, 84.6%.
// Second pass (501/553 with 5.1.x at RCPT, subject-is-our-side, old-MTA DNS texts), after an
// adversarial review took back the phrases that also fit our side: 69 of 78 (88.5%), 0 false
// hard; the nine misses are kept on purpose (docs/classification.md).
constexpr int kMaxFalseHard = 0;
constexpr double kFloorDeadRecognised = 88.0;

// Classifies every row of `file`, prints the figures and the confusion table, and checks them.
void measure(const std::string& file, size_t min_rows, int max_false_hard, double floor) {
  auto rows = load_devset(file);
  ASSERT_GT(rows.size(), min_rows) << file << " not found or truncated";
  Classifier c(default_rule_specs());
  int hard_truth = 0, hard_found = 0, false_hard = 0, exact = 0;
  std::map<std::string, std::map<std::string, int>> confusion;  // truth -> predicted -> n
  std::vector<std::string> wrong_hard, missed;
  for (const auto& r : rows) {
    Reply reply = parse_reply(r.reply);
    if (!reply.valid) reply = reply_from_status("", r.reply);
    auto got = c.classify(command_for_stage(r.stage), reply);
    std::string cls(to_string(got.cls));
    ++confusion[r.truth][cls];
    if (cls == r.truth) ++exact;
    if (r.truth == "hard") {
      ++hard_truth;
      if (cls == "hard")
        ++hard_found;
      else
        missed.push_back(std::to_string(r.line) + " [" + got.rule_id + " -> " + cls + "] " +
                         r.reply.substr(0, 110));
    } else if (cls == "hard") {
      ++false_hard;
      wrong_hard.push_back(std::to_string(r.line) + " [" + got.rule_id + ", truth " + r.truth +
                           "] " + r.reply.substr(0, 110));
    }
  }
  double recall = 100.0 * hard_found / hard_truth;
  printf(
      "%s: %zu replies, %d dead addresses; recognised %d (%.1f%%), false hard %d, "
      "exact class %d (%.1f%%)\n",
      file.c_str(), rows.size(), hard_truth, hard_found, recall, false_hard, exact,
      100.0 * exact / static_cast<double>(rows.size()));
  for (const auto& [truth, m] : confusion) {
    printf("  truth %-11s:", truth.c_str());
    for (const auto& [p, n] : m) printf(" %s=%d", p.c_str(), n);
    printf("\n");
  }
  for (const auto& w : wrong_hard) printf("  FALSE HARD line %s\n", w.c_str());
  for (const auto& m : missed) printf("  missed line %s\n", m.c_str());
  EXPECT_LE(false_hard, max_false_hard) << file;
  EXPECT_GE(recall, floor) << file;
}

TEST(ClassifyDevset, NoFalseSuppressionAndDeadAddressesRecognised) {
  measure("tests/data/provider_replies.tsv", 250, kMaxFalseHard, kFloorDeadRecognised);
}

// The second collection (tests/data/provider_replies_2.tsv, 260 replies, 68 providers) was
// gathered by a separate research pass that never saw the rules, and measured before any rule
// was changed for it: 52 of 80 dead addresses recognised (65.0%), 2 false hard of 180. The
// rules written from what it showed (inactivity and archived mailboxes, recipient
// preferences, localised texts, Exim/smail DNS texts, identifiers inside brackets) then give
// the figures pinned here (a review then took back "unknown host", "invalid domain", "not
// activated" and 5.7.13 at end of data, which also fit our side). The one false hard left is KDDI's
// "550 : User unknown", which the file labels a reception filter on Sisimai's word alone (no KDDI
// document); bouncegate reads "User unknown" as a dead address everywhere and keeps doing so.
constexpr int kMaxFalseHard2 = 1;
constexpr double kFloorDeadRecognised2 = 84.5;  // measured 85.0% (68 of 80)

TEST(ClassifyDevset, SecondCollectionMeasuredBeforeItsRulesWereWritten) {
  measure("tests/data/provider_replies_2.tsv", 250, kMaxFalseHard2, kFloorDeadRecognised2);
}

// A third collection (tests/data/provider_replies_3.tsv, 184 replies, 60% dead addresses, from
// gateway and hosting products, European and Asian providers, old MTAs and other bounce
// libraries' pattern lists), measured as it arrived, after the second collection's rules and
// the review: 88 of 111 dead addresses (79.3%), 2 false hard of 73. Rules then written from it
// (hedges such as "does not exist or is busy" are not proof; "mail receiving disabled", "no
// longer accepts mail", "not recognised", Italian texts): 99 of 111 (89.2%), 1 false hard -
// "550 5.1.2 User reject", which one bounce library files as a block; RFC 3463 5.1.2 says the
// destination system is bad, and bouncegate follows the code.
constexpr int kMaxFalseHard3 = 1;
constexpr double kFloorDeadRecognised3 = 88.5;

TEST(ClassifyDevset, ThirdCollectionMeasuredBeforeItsRulesWereWritten) {
  measure("tests/data/provider_replies_3.tsv", 150, kMaxFalseHard3, kFloorDeadRecognised3);
}

}  // namespace
}  // namespace bouncegate
