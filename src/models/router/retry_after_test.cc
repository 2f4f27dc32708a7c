#include "models/router/retry_after.h"

#include <gtest/gtest.h>

#include "absl/status/statusor.h"

namespace basalt::models {
namespace {

using std::chrono::milliseconds;

TEST(RetryAfter, TravelsOnTheStatus) {
  absl::Status s = WithRetryAfter(absl::ResourceExhaustedError("slow down"), milliseconds(1500));
  ASSERT_TRUE(RetryAfterOf(s).has_value());
  EXPECT_EQ(*RetryAfterOf(s), milliseconds(1500));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "slow down");
  // Survives a StatusOr and copies.
  absl::StatusOr<int> wrapped = s;
  absl::Status copy = wrapped.status();
  EXPECT_EQ(RetryAfterOf(copy), milliseconds(1500));
}

TEST(RetryAfter, AbsentNegativeAndOk) {
  EXPECT_FALSE(RetryAfterOf(absl::UnavailableError("x")).has_value());
  EXPECT_EQ(RetryAfterOf(WithRetryAfter(absl::UnavailableError("x"), milliseconds(-5))),
            milliseconds(0));
  EXPECT_FALSE(RetryAfterOf(WithRetryAfter(absl::OkStatus(), milliseconds(5))).has_value());
}

TEST(RetryAfter, ParsesDeltaSeconds) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(ParseRetryAfter("120", now), milliseconds(120'000));
  EXPECT_EQ(ParseRetryAfter(" 3 ", now), milliseconds(3000));
  EXPECT_EQ(ParseRetryAfter("1.5", now), milliseconds(1500));
  EXPECT_EQ(ParseRetryAfter("0", now), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("99999999999", now), std::chrono::hours(24));  // clamped
  EXPECT_FALSE(ParseRetryAfter("", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("-1", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("12abc", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
}

TEST(RetryAfter, ParsesHttpDates) {
  // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 s after the epoch.
  const std::chrono::system_clock::time_point when{std::chrono::seconds(1445412480)};
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", when - std::chrono::seconds(30)),
            milliseconds(30'000));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", when + std::chrono::seconds(5)),
            milliseconds(0));
  EXPECT_FALSE(ParseRetryAfter("Wed, 21 Foo 2015 07:28:00 GMT", when).has_value());
  EXPECT_FALSE(ParseRetryAfter("Wed, 31 Feb 2015 07:28:00 GMT", when).has_value());
  EXPECT_FALSE(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 UTC", when).has_value());
}

TEST(RetryAfter, ParsesMilliseconds) {
  EXPECT_EQ(ParseRetryAfterMs("250"), milliseconds(250));
  EXPECT_EQ(ParseRetryAfterMs("12.2"), milliseconds(13));
  EXPECT_FALSE(ParseRetryAfterMs("x").has_value());
}

TEST(RetryAfter, HeaderValueIsWholeSecondsRoundedUp) {
  EXPECT_EQ(RetryAfterHeaderValue(milliseconds(0)), "1");
  EXPECT_EQ(RetryAfterHeaderValue(milliseconds(200)), "1");
  EXPECT_EQ(RetryAfterHeaderValue(milliseconds(2500)), "3");
  EXPECT_EQ(RetryAfterHeaderValue(milliseconds(60'000)), "60");
}

}  // namespace
}  // namespace basalt::models
