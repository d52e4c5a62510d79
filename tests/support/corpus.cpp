// Corpus access for measurement tests: file discovery and expected.tsv parsing.
#include "tests/support/corpus.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace bouncegate::test {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == '\t')
      out.emplace_back();
    else if (c != '\r')
      out.back().push_back(c);
  }
  return out;
}

}  // namespace

fs::path find_corpus() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("BOUNCEGATE_CORPUS")) candidates.emplace_back(env);
  candidates.push_back(fs::path(BOUNCEGATE_SOURCE_DIR) / ".." / "shared" / "corpus" / "sisimai");
  candidates.push_back(fs::path("..") / "shared" / "corpus" / "sisimai");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::exists(c / "expected.tsv", ec) && fs::is_directory(c / "eml", ec)) return c;
  }
  return {};
}

std::vector<CorpusRow> load_expected(const fs::path& corpus) {
  std::ifstream tsv(corpus / "expected.tsv");
  std::string line;
  if (!std::getline(tsv, line)) throw std::runtime_error("expected.tsv is empty");
  std::vector<std::string> head = split_tabs(line);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < head.size(); ++i) col[head[i]] = i;
  for (const char* need : {"eml", "rcpt_index", "status", "replycode", "reason", "hardbounce",
                           "feedback_type", "status_is_pseudo"})
    if (!col.count(need))
      throw std::runtime_error(std::string("expected.tsv lacks column ") + need);
  std::vector<CorpusRow> rows;
  while (std::getline(tsv, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f = split_tabs(line);
    if (f.size() < head.size()) continue;
    CorpusRow r;
    r.eml = f[col["eml"]];
    r.index = static_cast<std::size_t>(std::strtoul(f[col["rcpt_index"]].c_str(), nullptr, 10));
    r.status = f[col["status"]];
    r.replycode = f[col["replycode"]];
    r.reason = f[col["reason"]];
    r.hardbounce = f[col["hardbounce"]] == "true";
    r.feedback_type = f[col["feedback_type"]];
    r.pseudo = f[col["status_is_pseudo"]] == "1";
    rows.push_back(r);
  }
  return rows;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string family_of(const std::string& eml) {
  std::string stem = eml.substr(0, eml.rfind('.'));
  std::size_t dash = stem.rfind('-');
  return dash == std::string::npos ? stem : stem.substr(0, dash);
}

}  // namespace bouncegate::test
