#include "models/router/backoff.h"

#include <gtest/gtest.h>

namespace basalt::models {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, CeilingDoublesFromBaseUpToTheCap) {
  const BackoffPolicy policy{milliseconds(100), milliseconds(1000)};
  EXPECT_EQ(BackoffCeiling(policy, 0), milliseconds(100));
  EXPECT_EQ(BackoffCeiling(policy, 1), milliseconds(200));
  EXPECT_EQ(BackoffCeiling(policy, 2), milliseconds(400));
  EXPECT_EQ(BackoffCeiling(policy, 3), milliseconds(800));
  EXPECT_EQ(BackoffCeiling(policy, 4), milliseconds(1000));
  EXPECT_EQ(BackoffCeiling(policy, 1'000'000), milliseconds(1000));  // no overflow
}

TEST(Backoff, ZeroBaseNeverWaits) {
  SeededRandom random(7);
  const BackoffPolicy policy{milliseconds(0), milliseconds(1000)};
  EXPECT_EQ(FullJitterBackoff(policy, 3, random), milliseconds(0));
}

TEST(Backoff, FullJitterSpansZeroToTheCeiling) {
  SeededRandom random(42);
  const BackoffPolicy policy{milliseconds(100), milliseconds(1000)};
  for (int retry = 0; retry < 6; ++retry) {
    const milliseconds ceiling = BackoffCeiling(policy, retry);
    milliseconds lowest = ceiling;
    milliseconds highest(0);
    for (int i = 0; i < 2000; ++i) {
      const milliseconds wait = FullJitterBackoff(policy, retry, random);
      ASSERT_GE(wait, milliseconds(0));
      ASSERT_LE(wait, ceiling);
      lowest = std::min(lowest, wait);
      highest = std::max(highest, wait);
    }
    // Full jitter, not "equal jitter": the whole window is used.
    EXPECT_LE(lowest.count(), ceiling.count() / 10) << "retry " << retry;
    EXPECT_GE(highest.count(), ceiling.count() * 9 / 10) << "retry " << retry;
  }
}

TEST(Backoff, SameSeedSameSequence) {
  SeededRandom a(1234);
  SeededRandom b(1234);
  const BackoffPolicy policy{milliseconds(50), milliseconds(5000)};
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(FullJitterBackoff(policy, i % 8, a), FullJitterBackoff(policy, i % 8, b));
  }
}

}  // namespace
}  // namespace basalt::models
