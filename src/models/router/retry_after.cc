#include "models/router/retry_after.h"

#include <array>
#include <charconv>
#include <cmath>

#include "absl/strings/cord.h"
#include "core/strings.h"

namespace basalt::models {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kRetryAfterPayloadUrl = "basalt.dev/retry_after_ms";
// Longer hints are clamped: no caller should wait a day, and it keeps the
// arithmetic far from overflow.
constexpr milliseconds kMaxHint = std::chrono::hours(24);

milliseconds Clamp(milliseconds d) {
  if (d < milliseconds(0)) return milliseconds(0);
  return d > kMaxHint ? kMaxHint : d;
}

std::optional<int> ParseDigits(std::string_view s) {
  int v = 0;
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// IMF-fixdate, the one form RFC 9110 requires senders to use:
// "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::chrono::system_clock::time_point> ParseImfFixdate(std::string_view s) {
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  unsigned month = 0;
  for (unsigned i = 0; i < kMonths.size(); ++i) {
    if (s.substr(8, 3) == kMonths[i]) month = i + 1;
  }
  auto day = ParseDigits(s.substr(5, 2));
  auto year = ParseDigits(s.substr(12, 4));
  auto hour = ParseDigits(s.substr(17, 2));
  auto minute = ParseDigits(s.substr(20, 2));
  auto second = ParseDigits(s.substr(23, 2));
  if (month == 0 || !day || !year || !hour || !minute || !second || *hour > 23 || *minute > 59 ||
      *second > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(*year), std::chrono::month(month),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
         std::chrono::seconds(*second);
}

std::optional<double> ParseNonNegative(std::string_view s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v < 0) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

absl::Status WithRetryAfter(absl::Status status, milliseconds delay) {
  if (status.ok()) return status;
  status.SetPayload(ToAbsl(kRetryAfterPayloadUrl),
                    absl::Cord(std::to_string(Clamp(delay).count())));
  return status;
}

std::optional<milliseconds> RetryAfterOf(const absl::Status& status) {
  const auto payload = status.GetPayload(ToAbsl(kRetryAfterPayloadUrl));
  if (!payload) return std::nullopt;
  const std::string text(*payload);
  long long ms = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return Clamp(milliseconds(ms));
}

std::optional<milliseconds> ParseRetryAfter(std::string_view value,
                                            std::chrono::system_clock::time_point now) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    const std::optional<double> seconds = ParseNonNegative(value);
    if (!seconds) return std::nullopt;
    if (*seconds >= static_cast<double>(kMaxHint.count()) / 1000) return kMaxHint;
    return Clamp(milliseconds(static_cast<int64_t>(std::ceil(*seconds * 1000))));
  }
  const auto when = ParseImfFixdate(value);
  if (!when) return std::nullopt;
  if (*when <= now) return milliseconds(0);
  const auto delta = std::chrono::ceil<milliseconds>(*when - now);
  return Clamp(delta);
}

std::optional<milliseconds> ParseRetryAfterMs(std::string_view value) {
  value = Trim(value);
  const std::optional<double> ms = ParseNonNegative(value);
  if (!ms) return std::nullopt;
  if (*ms >= static_cast<double>(kMaxHint.count())) return kMaxHint;
  return milliseconds(static_cast<int64_t>(std::ceil(*ms)));
}

std::string RetryAfterHeaderValue(milliseconds delay) {
  const int64_t ms = Clamp(delay).count();
  const int64_t seconds = (ms + 999) / 1000;
  return std::to_string(seconds < 1 ? 1 : seconds);
}

}  // namespace basalt::models
