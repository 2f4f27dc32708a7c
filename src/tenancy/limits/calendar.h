// UTC calendar arithmetic in Unix milliseconds, for monthly budgets and
// hourly/daily usage buckets. Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace basalt::limits {

inline constexpr int64_t kHourMs = 3'600'000;
inline constexpr int64_t kDayMs = 24 * kHourMs;

// [start_ms, end_ms) of the UTC calendar month containing `unix_ms`.
struct MonthSpan {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  bool Contains(int64_t ms) const { return ms >= start_ms && ms < end_ms; }
};
MonthSpan UtcMonthOf(int64_t unix_ms);

// Floors to the UTC hour / day (correct for times before 1970 too).
int64_t HourStartMs(int64_t unix_ms);
int64_t DayStartMs(int64_t unix_ms);

int64_t ToUnixMs(std::chrono::system_clock::time_point t);

// "2026-12-01T00:00:00Z".
std::string FormatUtc(int64_t unix_ms);

}  // namespace basalt::limits
