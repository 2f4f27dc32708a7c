#include "tenancy/limits/concurrency_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "core/status.h"

namespace basalt::limits {
namespace {

TEST(ConcurrencyLimiterTest, CapsInFlightAndFreesOnDestruction) {
  ConcurrencyLimiter limiter;
  auto a = limiter.TryAcquire("k", 2);
  auto b = limiter.TryAcquire("k", 2);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(limiter.InFlight("k"), 2);
  auto c = limiter.TryAcquire("k", 2);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorCodeOf(c.status()), "concurrency_limit_exceeded");
  EXPECT_TRUE(limiter.TryAcquire("other", 1).ok());  // keys are independent
  { auto gone = std::move(a); }
  EXPECT_EQ(limiter.InFlight("k"), 1);
  EXPECT_TRUE(limiter.TryAcquire("k", 2).ok());  // acquired and released at once
  b->Release();
  b->Release();  // idempotent
  EXPECT_EQ(limiter.InFlight("k"), 0);
}

TEST(ConcurrencyLimiterTest, MoveTransfersTheSlot) {
  ConcurrencyLimiter limiter;
  ConcurrencyLimiter::Permit p;
  EXPECT_FALSE(p.held());
  {
    auto acquired = limiter.TryAcquire("k", 1);
    ASSERT_TRUE(acquired.ok());
    p = std::move(*acquired);
  }
  EXPECT_TRUE(p.held());
  EXPECT_EQ(limiter.InFlight("k"), 1);
  ConcurrencyLimiter::Permit q(std::move(p));
  EXPECT_FALSE(p.held());
  auto other = limiter.TryAcquire("j", 1);
  q = std::move(*other);  // the old slot of "k" is returned
  EXPECT_EQ(limiter.InFlight("k"), 0);
  EXPECT_EQ(limiter.InFlight("j"), 1);
}

TEST(ConcurrencyLimiterTest, ZeroCapIsUnlimited) {
  ConcurrencyLimiter limiter;
  std::vector<ConcurrencyLimiter::Permit> permits;
  for (int i = 0; i < 100; ++i) {
    auto p = limiter.TryAcquire("k", 0);
    ASSERT_TRUE(p.ok());
    permits.push_back(std::move(*p));
  }
  EXPECT_EQ(limiter.InFlight("k"), 0);
}

TEST(ConcurrencyLimiterTest, NeverMoreThanCapUnderContention) {
  ConcurrencyLimiter limiter(2);
  constexpr int kCap = 3;
  std::atomic<int> inside{0}, max_inside{0}, admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto p = limiter.TryAcquire("k", kCap);
        if (!p.ok()) continue;
        admitted.fetch_add(1);
        const int now = inside.fetch_add(1) + 1;
        int seen = max_inside.load();
        while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
        }
        inside.fetch_sub(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(max_inside.load(), kCap);
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(limiter.InFlight("k"), 0);
}

}  // namespace
}  // namespace basalt::limits
