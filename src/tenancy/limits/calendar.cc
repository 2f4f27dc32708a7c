#include "tenancy/limits/calendar.h"

#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace basalt::limits {
namespace {

int64_t FloorTo(int64_t ms, int64_t unit) {
  int64_t q = ms / unit;
  if (ms % unit < 0) --q;
  return q * unit;
}

}  // namespace

MonthSpan UtcMonthOf(int64_t unix_ms) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilMonth month = absl::ToCivilMonth(absl::FromUnixMillis(unix_ms), utc);
  return MonthSpan{absl::ToUnixMillis(absl::FromCivil(month, utc)),
                   absl::ToUnixMillis(absl::FromCivil(month + 1, utc))};
}

int64_t HourStartMs(int64_t unix_ms) { return FloorTo(unix_ms, kHourMs); }
int64_t DayStartMs(int64_t unix_ms) { return FloorTo(unix_ms, kDayMs); }

int64_t ToUnixMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string FormatUtc(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

}  // namespace basalt::limits
