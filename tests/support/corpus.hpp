// The shared Sisimai bounce corpus (../shared/corpus/sisimai): locating it and reading its
// expected.tsv, for the tests that measure bouncegate against it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace bouncegate::test {

struct CorpusRow {
  std::string eml;
  std::size_t index = 0;  // 1-based recipient index within the message
  std::string status;     // enhanced status code
  std::string replycode;
  std::string reason;  // Sisimai's label (userunknown, mailboxfull, blocked, ...)
  bool hardbounce = false;
  std::string feedback_type;
  bool pseudo = false;  // status invented by Sisimai (x.0.9xx)
};

// BOUNCEGATE_CORPUS, else <source>/../shared/corpus/sisimai; empty path when not found.
std::filesystem::path find_corpus();
// Rows of expected.tsv; throws std::runtime_error naming a missing column.
std::vector<CorpusRow> load_expected(const std::filesystem::path& corpus);
std::string read_file(const std::filesystem::path& p);
// "lhost-postfix-12.eml" -> "lhost-postfix"; "rfc3464-01.eml" -> "rfc3464".
std::string family_of(const std::string& eml);

}  // namespace bouncegate::test
