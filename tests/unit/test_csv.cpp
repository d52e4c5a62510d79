// RFC 4180 fields and the spreadsheet-formula guard: a field that would run as a formula is
// written with a leading apostrophe, and reading it back restores it exactly.
#include <gtest/gtest.h>

#include <sstream>

#include "core/csv.hpp"

namespace bouncegate {
namespace {

TEST(Csv, FormulaStartsAreGuardedAndRestored) {
  EXPECT_EQ(csv_field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
  EXPECT_EQ(csv_field("+1"), "'+1");
  EXPECT_EQ(csv_field("-2"), "'-2");
  EXPECT_EQ(csv_field("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(csv_field("\tx"), "'\tx");
  EXPECT_EQ(csv_field("550 5.1.1 fine"), "550 5.1.1 fine");
  EXPECT_EQ(csv_field("'quoted"), "'quoted") << "an apostrophe before text is left alone";
  for (std::string s :
       {"=1+1", "'=1+1", "''=x", "'plain", "plain", "-user@example.com", "", "@", "'", "a=b"}) {
    std::istringstream in(csv_field(s) + "\n");
    CsvReader r(in);
    std::vector<std::string> f;
    ASSERT_TRUE(r.next(f)) << s;
    ASSERT_EQ(f.size(), 1u) << s;
    EXPECT_EQ(csv_unguard(f[0]), s) << "round trip of " << s;
    EXPECT_FALSE(!f[0].empty() &&
                 (f[0][0] == '=' || f[0][0] == '+' || f[0][0] == '-' || f[0][0] == '@'))
        << "a spreadsheet would run " << f[0];
  }
}

}  // namespace
}  // namespace bouncegate
