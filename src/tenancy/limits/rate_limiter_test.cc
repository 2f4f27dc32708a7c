#include "tenancy/limits/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "core/strings.h"

namespace basalt::limits {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(RateLimiterTest, GrantCarriesHeaderValues) {
  FakeClock clock;
  RateLimiter limiter(clock);
  const RateLimits limits{60, 6000};
  RateDecision d = limiter.Admit("key:a", limits, 1, 600);
  ASSERT_TRUE(d.ok()) << d.status;
  EXPECT_EQ(d.grant.requests.limit, 60);
  EXPECT_EQ(d.grant.requests.remaining, 59);
  EXPECT_EQ(d.grant.requests.reset, absl::Seconds(1));
  EXPECT_EQ(d.grant.tokens.limit, 6000);
  EXPECT_EQ(d.grant.tokens.remaining, 5400);
  EXPECT_EQ(d.grant.tokens.reset, absl::Seconds(6));
}

TEST(RateLimiterTest, RefusalHasExactRetryAfterAndRefillAdmits) {
  FakeClock clock;
  RateLimiter limiter(clock);
  const RateLimits limits{0, 1000};  // 1000 tokens/min: 60 ms per token
  ASSERT_TRUE(limiter.Admit("k", limits, 1, 900).ok());
  RateDecision d = limiter.Admit("k", limits, 1, 300);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorCodeOf(d.status), "rate_limit_exceeded");
  EXPECT_EQ(d.limited_by, RateDimension::kTokens);
  EXPECT_EQ(d.limited_key, "k");
  EXPECT_EQ(d.retry_after, absl::Milliseconds(200 * 60));  // 200 tokens short
  EXPECT_EQ(d.RetryAfterSeconds(), 12);
  EXPECT_EQ(d.grant.tokens.remaining, 100);
  // One nanosecond early is still too early; at the instant it fits.
  clock.Advance(nanoseconds(absl::ToInt64Nanoseconds(d.retry_after) - 1));
  EXPECT_FALSE(limiter.Admit("k", limits, 1, 300).ok());
  clock.Advance(nanoseconds(1));
  EXPECT_TRUE(limiter.Admit("k", limits, 1, 300).ok());
}

TEST(RateLimiterTest, RetryAfterSecondsRoundsUp) {
  FakeClock clock;
  RateLimiter limiter(clock);
  const RateLimits limits{7, 0};
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(limiter.Admit("k", limits, 1, 0).ok());
  RateDecision d = limiter.Admit("k", limits, 1, 0);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.limited_by, RateDimension::kRequests);
  EXPECT_EQ(absl::ToInt64Nanoseconds(d.retry_after), (60'000'000'000 + 6) / 7);
  EXPECT_EQ(d.RetryAfterSeconds(), 9);  // 8.57 s
}

TEST(RateLimiterTest, BothBucketsAreChargedOrNeither) {
  FakeClock clock;
  RateLimiter limiter(clock);
  const RateLimits limits{10, 1000};
  ASSERT_TRUE(limiter.Admit("k", limits, 1, 950).ok());
  // Refused on tokens: the request bucket must not be charged either.
  for (int i = 0; i < 20; ++i) ASSERT_FALSE(limiter.Admit("k", limits, 1, 100).ok());
  RateDecision d = limiter.Admit("k", limits, 1, 50);
  ASSERT_TRUE(d.ok()) << d.status;
  EXPECT_EQ(d.grant.requests.remaining, 8);
  EXPECT_EQ(d.grant.tokens.remaining, 0);
  // Refused on requests: tokens untouched.
  const RateLimits tight{2, 1000};
  ASSERT_TRUE(limiter.Admit("j", tight, 2, 10).ok());
  ASSERT_FALSE(limiter.Admit("j", tight, 1, 10).ok());
  clock.Advance(seconds(30));  // one request back, 500 tokens back (already full)
  d = limiter.Admit("j", tight, 1, 10);
  ASSERT_TRUE(d.ok()) << d.status;
  EXPECT_EQ(d.grant.tokens.remaining, 990);
}

TEST(RateLimiterTest, AllKeysAreChargedOrNone) {
  FakeClock clock;
  RateLimiter limiter(clock);
  const RateKey keys[] = {{"tenant:t", {100, 0}}, {"key:k", {1, 0}}};
  ASSERT_TRUE(limiter.Admit(keys, 1, 0).ok());
  RateDecision d = limiter.Admit(keys, 1, 0);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.limited_key, "key:k");
  // The tenant was charged once only, and its state is reported (tightest first).
  RateDecision t = limiter.Admit("tenant:t", {100, 0}, 1, 0);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.grant.requests.remaining, 98);
}

TEST(RateLimiterTest, GrantReportsTheTightestKey) {
  FakeClock clock;
  RateLimiter limiter(clock);
  const RateKey keys[] = {{"tenant:t", {100, 10'000}}, {"key:k", {5, 100'000}}};
  RateDecision d = limiter.Admit(keys, 1, 1000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.grant.requests.limit, 5);
  EXPECT_EQ(d.grant.requests.remaining, 4);
  EXPECT_EQ(d.grant.tokens.limit, 10'000);
  EXPECT_EQ(d.grant.tokens.remaining, 9000);
}

TEST(RateLimiterTest, KeysAreIsolated) {
  FakeClock clock;
  RateLimiter limiter(clock);
  const RateLimits limits{1, 0};
  ASSERT_TRUE(limiter.Admit("a", limits, 1, 0).ok());
  EXPECT_FALSE(limiter.Admit("a", limits, 1, 0).ok());
  EXPECT_TRUE(limiter.Admit("b", limits, 1, 0).ok());
}

TEST(RateLimiterTest, TooLargeIsRefusedWithoutRetry) {
  FakeClock clock;
  RateLimiter limiter(clock);
  RateDecision d = limiter.Admit("k", {0, 1000}, 1, 1001);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeOf(d.status), "request_too_large");
  EXPECT_EQ(d.retry_after, absl::InfiniteDuration());
  EXPECT_EQ(d.RetryAfterSeconds(), 0);
  EXPECT_NE(std::string(d.status.message()).find("1000"), std::string::npos) << d.status;
  // Nothing was charged.
  EXPECT_EQ(limiter.Admit("k", {0, 1000}, 1, 1000).grant.tokens.remaining, 0);
}

TEST(RateLimiterTest, AdjustRefundsAndChargesDebt) {
  FakeClock clock;
  RateLimiter limiter(clock);
  const RateLimits limits{0, 600};  // 10 tokens per second
  ASSERT_TRUE(limiter.Admit("k", limits, 1, 500).ok());
  limiter.Adjust("k", limits, -400);  // used 100 of the 500 estimated
  EXPECT_EQ(limiter.Admit("k", limits, 1, 0).grant.tokens.remaining, 500);
  limiter.Adjust("k", limits, 800);  // used far more than estimated: 300 in debt
  RateDecision d = limiter.Admit("k", limits, 1, 10);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.retry_after, absl::Seconds(31));
  EXPECT_EQ(d.grant.tokens.remaining, 0);
  clock.Advance(seconds(31));
  EXPECT_TRUE(limiter.Admit("k", limits, 1, 10).ok());
}

TEST(RateLimiterTest, ChangedLimitsApplyAtOnce) {
  FakeClock clock;
  RateLimiter limiter(clock);
  ASSERT_TRUE(limiter.Admit("k", {10, 0}, 5, 0).ok());
  RateDecision d = limiter.Admit("k", {3, 0}, 1, 0);  // limit lowered below use
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.grant.requests.remaining, 2);
  EXPECT_TRUE(limiter.Admit("k", {0, 0}, 1000, 1000).ok());  // now unlimited
}

TEST(RateLimiterTest, FullBucketsAreEvicted) {
  FakeClock clock;
  // One shard: absl::Hash is seeded per process, so with several shards the
  // split of keys (and so when each shard sweeps) differs from run to run.
  // One shard sweeps at 17, 35, 71, 143, 287 and 575 entries, then at 1151.
  RateLimiter limiter(clock, RateLimiter::Options{.shards = 1, .sweep_min_entries = 16});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.Admit(std::to_string(i), {10, 0}, 1, 0).ok());
  }
  EXPECT_GT(limiter.SizeForTest(), 100u);
  clock.Advance(seconds(60));  // everything refilled
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(limiter.Admit(StrCat("n", i), {10, 0}, 1, 0).ok());
  }
  EXPECT_LT(limiter.SizeForTest(), 500u);
  // An evicted key starts full again, as it would have been.
  EXPECT_EQ(limiter.Admit("5", {10, 0}, 1, 0).grant.requests.remaining, 9);
}

TEST(RateLimiterTest, ConcurrentAdmitsNeverExceedTheLimit) {
  FakeClock clock;  // time stands still: exactly `limit` admits in total
  RateLimiter limiter(clock, RateLimiter::Options{.shards = 2});
  const RateKey keys[] = {{"tenant:t", {0, 10'000}}, {"key:k", {500, 0}}};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (limiter.Admit(keys, 1, 30).ok()) admitted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 10'000 / 30);  // the token bucket binds first
  RateDecision d = limiter.Admit(keys, 1, 0);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.grant.requests.remaining, 500 - 10'000 / 30 - 1);
}

}  // namespace
}  // namespace basalt::limits
