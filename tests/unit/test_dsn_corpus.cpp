// Measures parse_feedback against the Sisimai bounce corpus and pins the achieved extraction
// rates with floors, so a change that makes recognition worse fails the build.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/dsn.hpp"
#include "core/dsn_detail.hpp"
#include "tests/support/corpus.hpp"

namespace bouncegate {
namespace {

namespace fs = std::filesystem;
using test::family_of;
using test::find_corpus;
using test::read_file;

// Floors sit about one point under the measured figures; raise them when the parser improves.
constexpr double kFloorRecipientOverall = 97.5;  // measured 98.7
constexpr double kFloorStatusOverall = 97.5;     // measured 98.9
// rfc3464-28 holds two concatenated messages; the second one is out of reach by design.
constexpr double kFloorRecipientRfc3464 = 97.0;  // measured 97.1 (33/34)
constexpr double kFloorStatusRfc3464 = 97.0;     // measured 97.1 (33/34)
// arf-11/arf-15 name no recipient anywhere; arf-26 is an Apple unsubscribe, not ARF.
constexpr double kFloorRecipientArf = 85.0;  // measured 85.7 (18/21)
constexpr double kMaxCorpusSeconds = 5.0;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The corpus carries no recipient column, so a recipient counts as extracted correctly when
// the parser returns one at that index that is a plausible mailbox literally present in the
// message, or in it once RFC 2047 encoded-words are decoded (and, for ARF rows, with the
// expected feedback type).
bool plausible_recipient(const std::string& rcpt, const std::string& raw_lower) {
  std::size_t at = rcpt.find('@');
  if (rcpt.empty() || at == 0 || at == std::string::npos || at + 1 >= rcpt.size()) return false;
  return raw_lower.find(lower(rcpt)) != std::string::npos;
}

struct Tally {
  int rows = 0;
  int rcpt_ok = 0;
  int status_rows = 0;
  int status_ok = 0;
};

double pct(int ok, int n) {
  return n == 0 ? 100.0 : 100.0 * ok / n;
}

TEST(DsnCorpus, ExtractionRatesStayAboveFloors) {
  const fs::path corpus = find_corpus();
  ASSERT_FALSE(corpus.empty())
      << "Sisimai corpus not found: set BOUNCEGATE_CORPUS to the directory holding "
         "expected.tsv and eml/ (default: <source>/../shared/corpus/sisimai)";

  std::vector<test::CorpusRow> rows;
  try {
    rows = test::load_expected(corpus);
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  ASSERT_FALSE(rows.empty());

  // Parse every message once, timing only the parser.
  std::map<std::string, ParsedFeedback> parsed;
  std::map<std::string, std::string> raw_lower;
  double seconds = 0;
  for (const test::CorpusRow& r : rows) {
    if (parsed.count(r.eml)) continue;
    std::string raw = read_file(corpus / "eml" / r.eml);
    ASSERT_FALSE(raw.empty()) << "cannot read " << r.eml;
    auto t0 = std::chrono::steady_clock::now();
    parsed[r.eml] = parse_feedback(raw);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // RFC 2047 encoded-words decoded too: an encoded recipient is present in decoded form.
    raw_lower[r.eml] = lower(raw) + "\n" + lower(dsn_detail::decode_encoded_words(raw));
  }

  std::map<std::string, Tally> fam;
  Tally all;
  int autoreply_rows = 0, autoreply_ok = 0;
  std::vector<std::string> misses;
  for (const test::CorpusRow& r : rows) {
    const ParsedFeedback& p = parsed[r.eml];
    const std::string family = family_of(r.eml);
    if (family == "rfc3834") {
      // Auto-replies: success means no failed recipient is reported.
      ++autoreply_rows;
      bool ok = p.kind == FeedbackKind::ignored || p.recipients.empty();
      autoreply_ok += ok;
      Tally& t = fam[family];
      ++t.rows;
      t.rcpt_ok += ok;
      if (!ok) misses.push_back(r.eml + ": auto-reply reported as " + to_string(p.kind));
      continue;
    }
    Tally& t = fam[family];
    ++t.rows;
    ++all.rows;
    const FailedRecipient* got =
        (r.index >= 1 && r.index <= p.recipients.size()) ? &p.recipients[r.index - 1] : nullptr;
    bool rok = got && plausible_recipient(got->recipient, raw_lower[r.eml]);
    if (rok && !r.feedback_type.empty()) rok = got->feedback_type == r.feedback_type;
    t.rcpt_ok += rok;
    all.rcpt_ok += rok;
    if (!rok)
      misses.push_back(r.eml + "#" + std::to_string(r.index) + ": recipient " +
                       (got ? "'" + got->recipient + "'" : "missing") + " (" + to_string(p.kind) +
                       ")");
    if (!r.pseudo && !r.status.empty()) {
      ++t.status_rows;
      ++all.status_rows;
      bool sok = got && got->status == r.status;
      t.status_ok += sok;
      all.status_ok += sok;
      if (!sok)
        misses.push_back(r.eml + "#" + std::to_string(r.index) + ": status '" +
                         (got ? got->status : std::string("-")) + "' want " + r.status);
    }
  }

  std::printf("%-26s %6s %12s %12s %12s\n", "family", "rows", "rcpt ok %", "status rows",
              "status ok %");
  for (const auto& [name, t] : fam)
    std::printf("%-26s %6d %12.1f %12d %12.1f\n", name.c_str(), t.rows, pct(t.rcpt_ok, t.rows),
                t.status_rows, pct(t.status_ok, t.status_rows));
  std::printf("%-26s %6d %12.1f %12d %12.1f\n", "OVERALL (bounces+arf)", all.rows,
              pct(all.rcpt_ok, all.rows), all.status_rows, pct(all.status_ok, all.status_rows));
  std::printf("auto-replies not reported as bounces: %d/%d\n", autoreply_ok, autoreply_rows);
  std::printf("parse time for %zu messages: %.3f s\n", parsed.size(), seconds);
  if (std::getenv("BOUNCEGATE_CORPUS_VERBOSE"))
    for (const auto& m : misses) std::printf("  miss %s\n", m.c_str());

  EXPECT_GE(pct(all.rcpt_ok, all.rows), kFloorRecipientOverall);
  EXPECT_GE(pct(all.status_ok, all.status_rows), kFloorStatusOverall);
  EXPECT_GE(pct(fam["rfc3464"].rcpt_ok, fam["rfc3464"].rows), kFloorRecipientRfc3464);
  EXPECT_GE(pct(fam["rfc3464"].status_ok, fam["rfc3464"].status_rows), kFloorStatusRfc3464);
  EXPECT_GE(pct(fam["arf"].rcpt_ok, fam["arf"].rows), kFloorRecipientArf);
  EXPECT_EQ(autoreply_ok, autoreply_rows) << "an RFC 3834 auto-reply was reported as a bounce";
  EXPECT_LT(seconds, kMaxCorpusSeconds);
}

}  // namespace
}  // namespace bouncegate
