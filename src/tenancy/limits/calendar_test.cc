#include "tenancy/limits/calendar.h"

#include <gtest/gtest.h>

namespace basalt::limits {
namespace {

// 2026-11-30T23:59:59.999Z and the instant after.
constexpr int64_t kLastMsOfNov2026 = 1'796'083'199'999;

TEST(CalendarTest, UtcMonths) {
  const MonthSpan nov = UtcMonthOf(kLastMsOfNov2026);
  EXPECT_EQ(FormatUtc(nov.start_ms), "2026-11-01T00:00:00Z");
  EXPECT_EQ(FormatUtc(nov.end_ms), "2026-12-01T00:00:00Z");
  EXPECT_EQ(nov.end_ms, kLastMsOfNov2026 + 1);
  EXPECT_EQ(UtcMonthOf(kLastMsOfNov2026 + 1).start_ms, nov.end_ms);
  const MonthSpan feb = UtcMonthOf(UtcMonthOf(nov.end_ms + 70 * kDayMs).start_ms);
  EXPECT_EQ(FormatUtc(feb.start_ms), "2027-02-01T00:00:00Z");
  EXPECT_EQ(feb.end_ms - feb.start_ms, 28 * kDayMs);
  EXPECT_EQ(UtcMonthOf(0).start_ms, 0);
}

TEST(CalendarTest, HourAndDayFloors) {
  EXPECT_EQ(HourStartMs(kLastMsOfNov2026), kLastMsOfNov2026 + 1 - kHourMs);
  EXPECT_EQ(DayStartMs(kLastMsOfNov2026), kLastMsOfNov2026 + 1 - kDayMs);
  EXPECT_EQ(HourStartMs(-1), -kHourMs);
  EXPECT_EQ(DayStartMs(0), 0);
}

}  // namespace
}  // namespace basalt::limits
