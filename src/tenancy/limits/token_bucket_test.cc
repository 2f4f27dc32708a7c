#include "tenancy/limits/token_bucket.h"

#include <gtest/gtest.h>

namespace basalt::limits {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(TokenBucketTest, StartsFullAndRefillsContinuously) {
  TokenBucket b(60, 0);  // one unit per second
  EXPECT_EQ(b.level(), 60);
  b.Take(60);
  EXPECT_EQ(b.level(), 0);
  b.Refill(kSecond - 1);
  EXPECT_EQ(b.level(), 0);
  b.Refill(kSecond);
  EXPECT_EQ(b.level(), 1);
  b.Refill(30 * kSecond);
  EXPECT_EQ(b.level(), 30);
  b.Refill(600 * kSecond);
  EXPECT_EQ(b.level(), 60);  // never above capacity
  EXPECT_TRUE(b.full());
}

TEST(TokenBucketTest, FractionsAreCarriedExactly) {
  TokenBucket b(7, 0);  // 7 per minute: one unit every 60/7 s
  b.Take(7);
  // Many tiny refills add up to exactly what one big refill gives.
  for (int64_t t = 1; t <= 60 * kSecond; t += 333'333'333) b.Refill(t);
  b.Refill(60 * kSecond);
  EXPECT_EQ(b.level(), 7);
  b.Take(7);
  const int64_t start = 60 * kSecond;
  // The k-th unit arrives at ceil(k * 60e9 / 7) ns.
  for (int k = 1; k <= 7; ++k) {
    const int64_t at = start + (k * TokenBucket::kPeriodNs + 6) / 7;
    TokenBucket probe = b;
    probe.Refill(at - 1);
    EXPECT_EQ(probe.level(), k - 1) << k;
    probe.Refill(at);
    EXPECT_EQ(probe.level(), k) << k;
  }
}

TEST(TokenBucketTest, NanosUntilIsExact) {
  TokenBucket b(7, 0);
  b.Take(7);
  const int64_t wait = b.NanosUntil(3);
  EXPECT_EQ(wait, (3 * TokenBucket::kPeriodNs + 6) / 7);
  TokenBucket before = b, at = b;
  before.Refill(wait - 1);
  at.Refill(wait);
  EXPECT_EQ(before.level(), 2);
  EXPECT_EQ(at.level(), 3);
  EXPECT_EQ(b.NanosUntilFull(), TokenBucket::kPeriodNs);
  // Mid-way, with a fraction already accumulated.
  b.Refill(kSecond);
  TokenBucket later = b;
  later.Refill(kSecond + b.NanosUntil(2));
  EXPECT_EQ(later.level(), 2);
  later = b;
  later.Refill(kSecond + b.NanosUntil(2) - 1);
  EXPECT_EQ(later.level(), 1);
}

TEST(TokenBucketTest, DebtIsPaidBackBeforeAdmitting) {
  TokenBucket b(60, 0);
  b.Take(60);
  b.Take(30);  // settled above the estimate
  EXPECT_EQ(b.level(), -30);
  EXPECT_EQ(b.NanosUntil(1), 31 * kSecond);
  b.Refill(30 * kSecond);
  EXPECT_EQ(b.level(), 0);
}

TEST(TokenBucketTest, GiveNeverExceedsCapacity) {
  TokenBucket b(100, 0);
  b.Take(10);
  b.Give(50);
  EXPECT_EQ(b.level(), 100);
  b.Take(INT64_MAX);  // saturates instead of overflowing
  EXPECT_LT(b.level(), 0);
  b.Give(INT64_MAX);
  EXPECT_EQ(b.level(), 100);
}

TEST(TokenBucketTest, UnlimitedAdmitsEverything) {
  TokenBucket b(0, 0);
  EXPECT_TRUE(b.unlimited());
  b.Take(1'000'000);
  EXPECT_EQ(b.NanosUntil(1'000'000), 0);
  EXPECT_TRUE(b.full());
}

TEST(TokenBucketTest, SetLimitClampsOrStartsFull) {
  TokenBucket b(100, 0);
  b.Take(20);
  b.SetLimit(50, 0);
  EXPECT_EQ(b.level(), 50);
  b.SetLimit(200, 0);
  EXPECT_EQ(b.level(), 50);  // the extra room fills at the new rate
  b.SetLimit(0, 0);
  EXPECT_TRUE(b.unlimited());
  b.SetLimit(10, 0);
  EXPECT_EQ(b.level(), 10);
}

TEST(TokenBucketTest, LongIdleDoesNotOverflow) {
  TokenBucket b(int64_t{1} << 40, 0);
  b.Take(int64_t{1} << 40);
  b.Refill(int64_t{1} << 62);
  EXPECT_TRUE(b.full());
}

TEST(TokenBucketTest, ClockGoingBackwardsAddsNothing) {
  TokenBucket b(60, 10 * kSecond);
  b.Take(60);
  b.Refill(5 * kSecond);
  EXPECT_EQ(b.level(), 0);
  b.Refill(11 * kSecond);
  EXPECT_EQ(b.level(), 1);
}

}  // namespace
}  // namespace basalt::limits
