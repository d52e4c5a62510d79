// Measures bounce parsing and judgement on tests/data/bounces_2: 54 bounce and complaint
// messages in the shapes real MTAs write (Postfix, Sendmail V5/8, Exim, qmail, Exchange
// 2003-2019 and Online, Domino, GroupWise, Courier, MDaemon, IMail, Gmail, Yahoo, carriers, SES,
// ARF, JMRP, nested, RFC 2047, SMTPUTF8, disclaimers), written by a research pass that never
// read the parser. Its figures are pinned so they cannot fall.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "core/classify.hpp"
#include "core/dsn.hpp"
#include "core/learn.hpp"
#include "tests/support/harness.hpp"

namespace bouncegate {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

// Measured 2026-12-01 as the set arrived: 58 of 59 recipients found, 31 of 34 dead addresses,
// 0 false hard; after the transcript and free-text fixes it led to: 33 of 34. The file's one
// hard row still missed is Postfix's "Host not found, try again" (a temporary DNS failure that
// bouncegate reads as soft on purpose); the recipient not found is in an AOL "Client TOS
// Notification" (SCOMP), a complaint format older than ARF that bouncegate does not read.
constexpr int kFloorFound = 58, kFloorHard = 33, kMaxFalseHard = 0;

TEST(DsnHeldOut, RecipientsAndVerdictsOnBouncesNeverSeen) {
  const std::string dir = test::source_path("tests/data/bounces_2/");
  std::ifstream in(dir + "expected.tsv");
  ASSERT_TRUE(in) << "expected.tsv not found";
  Classifier c(default_rule_specs());
  std::map<std::string, ParsedFeedback> parsed;
  int rows = 0, found = 0, hard_truth = 0, hard_ok = 0, false_hard = 0;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream is(line);
    std::string file, rcpt, truth;
    std::getline(is, file, '\t');
    std::getline(is, rcpt, '\t');
    std::getline(is, truth, '\t');
    if (file.empty()) continue;
    ++rows;
    if (!parsed.count(file)) parsed[file] = parse_feedback(slurp(dir + file));
    const ParsedFeedback& fb = parsed[file];
    const FailedRecipient* hit = nullptr;
    for (const auto& r : fb.recipients)
      if (lower(r.recipient) == lower(rcpt)) hit = &r;
    bool hard = false;
    if (hit && fb.kind != FeedbackKind::arf && hit->action != "delayed") {
      DsnReply d = reply_for_dsn_recipient(*hit);
      hard = c.classify(d.command, d.reply).cls == OutcomeClass::hard;
    }
    if (hit) ++found;
    if (truth == "complaint" && hit) {
      EXPECT_EQ(fb.kind, FeedbackKind::arf) << file;
    }
    if (truth == "hard") {
      ++hard_truth;
      hard_ok += hard;
      if (!hard) std::printf("  missed %s %s\n", file.c_str(), rcpt.c_str());
    } else if (hard) {
      ++false_hard;
      std::printf("  FALSE HARD %s %s (truth %s)\n", file.c_str(), rcpt.c_str(), truth.c_str());
    }
    if (!hit) std::printf("  recipient not found: %s %s\n", file.c_str(), rcpt.c_str());
  }
  std::printf(
      "held-out bounces: %d rows, recipient found %d, dead recognised %d of %d, "
      "false hard %d\n",
      rows, found, hard_ok, hard_truth, false_hard);
  ASSERT_GT(rows, 50);
  EXPECT_GE(found, kFloorFound);
  EXPECT_GE(hard_ok, kFloorHard);
  EXPECT_LE(false_hard, kMaxFalseHard);
}

}  // namespace
}  // namespace bouncegate
