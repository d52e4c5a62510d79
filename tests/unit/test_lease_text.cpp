// The one lease formatter: ladder steps read as configured, partial leases round up.
#include <gtest/gtest.h>

#include "core/lease_text.hpp"

namespace bouncegate {
namespace {

TEST(LeaseText, LadderStepsReadAsConfigured) {
  EXPECT_EQ(lease_text(24 * 3'600'000ll), "24h");
  EXPECT_EQ(lease_text(48 * 3'600'000ll), "48h");
  EXPECT_EQ(lease_text(96 * 3'600'000ll), "96h");
  EXPECT_EQ(lease_text(7 * 86'400'000ll), "7d");
  EXPECT_EQ(lease_text(14 * 86'400'000ll), "14d");
}

TEST(LeaseText, RemainingLeasesRoundUpToTwoUnits) {
  EXPECT_EQ(lease_text(86'396'000), "24h");  // 23h59m56s left of a 24h lease
  EXPECT_EQ(lease_text(86'400'000 - 3'600'000 - 1), "23h");
  EXPECT_EQ(lease_text(5'400'000), "1h30m");
  EXPECT_EQ(lease_text(90'000), "1m30s");
  EXPECT_EQ(lease_text(45'000), "45s");
  EXPECT_EQ(lease_text(1), "1s");
  EXPECT_EQ(lease_text(0), "0s");
  EXPECT_EQ(lease_text(10 * 86'400'000ll + 3 * 3'600'000ll), "10d3h");
  EXPECT_EQ(lease_text(14 * 86'400'000ll - 1), "14d");
}

TEST(LeaseText, NegativeIsPermanent) {
  EXPECT_EQ(lease_text(-1), "permanent");
}

}  // namespace
}  // namespace bouncegate

// RFC 3339 times as providers write them (Event Grid: seven fraction digits and an offset).
#include "core/clock.hpp"

namespace bouncegate {
namespace {

TEST(Rfc3339, FractionsAndOffsets) {
  const int64_t base = *parse_utc_time("2026-11-27T10:00:00Z");
  EXPECT_EQ(parse_rfc3339("2026-11-27T10:00:00Z"), base);
  EXPECT_EQ(parse_rfc3339("2026-11-27T10:00:00.1234567+00:00"), base + 123);
  EXPECT_EQ(parse_rfc3339("2026-11-27T10:00:00.5Z"), base + 500);
  EXPECT_EQ(parse_rfc3339("2026-11-27T11:30:00+01:30"), base);
  EXPECT_EQ(parse_rfc3339("2026-11-27T05:00:00-05:00"), base);
  for (const char* bad :
       {"2026-11-27", "2026-11-27T10:00:00", "2026-11-27T10:00:00.Z", "2026-11-27T10:00:00+0100",
        "2026-11-27T10:00:00+25:00", "2026-11-27T10:00:00Zjunk", "2026-13-27T10:00:00Z"})
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

}  // namespace
}  // namespace bouncegate
