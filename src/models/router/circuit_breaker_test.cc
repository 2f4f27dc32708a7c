#include "models/router/circuit_breaker.h"

#include <gtest/gtest.h>

namespace basalt::models {
namespace {

using std::chrono::milliseconds;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreakerTest() : breaker_(Config(), clock_, &gauge_) {}
  static BreakerConfig Config() {
    BreakerConfig config;
    config.failure_threshold = 3;
    config.cool_down = milliseconds(1000);
    config.half_open_probes = 2;
    return config;
  }
  void Fail(int times) {
    for (int i = 0; i < times; ++i) {
      CircuitBreaker::Ticket t = breaker_.TryAcquire();
      ASSERT_TRUE(t);
      t.Failure();
    }
  }
  void Open() {
    Fail(3);
    ASSERT_EQ(breaker_.state(), BreakerState::kOpen);
  }

  FakeClock clock_;
  metrics::GaugeSeries gauge_;
  CircuitBreaker breaker_;
};

TEST_F(CircuitBreakerTest, OpensAfterConsecutiveFailures) {
  Fail(2);
  EXPECT_EQ(breaker_.state(), BreakerState::kClosed);
  EXPECT_EQ(gauge_.Value(), 0);
  Fail(1);
  EXPECT_EQ(breaker_.state(), BreakerState::kOpen);
  EXPECT_EQ(gauge_.Value(), 2);
  EXPECT_FALSE(breaker_.TryAcquire());
  EXPECT_EQ(breaker_.RemainingCoolDown(), milliseconds(1000));
}

TEST_F(CircuitBreakerTest, ASuccessResetsTheCount) {
  Fail(2);
  breaker_.TryAcquire().Success();
  Fail(2);
  EXPECT_EQ(breaker_.state(), BreakerState::kClosed);
}

TEST_F(CircuitBreakerTest, HalfOpensAfterTheCoolDownAndLimitsProbes) {
  Open();
  clock_.Advance(milliseconds(999));
  EXPECT_FALSE(breaker_.TryAcquire());
  clock_.Advance(milliseconds(1));
  CircuitBreaker::Ticket first = breaker_.TryAcquire();
  CircuitBreaker::Ticket second = breaker_.TryAcquire();
  EXPECT_TRUE(first);
  EXPECT_TRUE(second);
  EXPECT_EQ(breaker_.state(), BreakerState::kHalfOpen);
  EXPECT_EQ(gauge_.Value(), 1);
  EXPECT_FALSE(breaker_.TryAcquire());  // both probe slots taken
  first.Success();
  EXPECT_EQ(breaker_.state(), BreakerState::kClosed);
  EXPECT_EQ(gauge_.Value(), 0);
  EXPECT_TRUE(breaker_.TryAcquire());
}

TEST_F(CircuitBreakerTest, AFailedProbeReopens) {
  Open();
  clock_.Advance(milliseconds(1000));
  CircuitBreaker::Ticket probe = breaker_.TryAcquire();
  ASSERT_TRUE(probe);
  probe.Failure();
  EXPECT_EQ(breaker_.state(), BreakerState::kOpen);
  EXPECT_FALSE(breaker_.TryAcquire());
  clock_.Advance(milliseconds(1000));
  EXPECT_TRUE(breaker_.TryAcquire());
}

TEST_F(CircuitBreakerTest, AnAbandonedProbeFreesItsSlot) {
  Open();
  clock_.Advance(milliseconds(1000));
  {
    CircuitBreaker::Ticket a = breaker_.TryAcquire();
    CircuitBreaker::Ticket b = breaker_.TryAcquire();
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(breaker_.TryAcquire());
  }  // dropped without a verdict
  EXPECT_EQ(breaker_.state(), BreakerState::kHalfOpen);
  EXPECT_TRUE(breaker_.TryAcquire());
}

TEST_F(CircuitBreakerTest, StaleCallsDoNotCloseAnOpenBreaker) {
  CircuitBreaker::Ticket stale = breaker_.TryAcquire();
  Open();
  stale.Success();
  EXPECT_EQ(breaker_.state(), BreakerState::kOpen);
}

TEST(CircuitBreaker, ZeroThresholdDisables) {
  FakeClock clock;
  CircuitBreaker breaker(BreakerConfig{0, milliseconds(10), 1}, clock, nullptr);
  for (int i = 0; i < 100; ++i) breaker.TryAcquire().Failure();
  EXPECT_TRUE(breaker.TryAcquire());
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
}

}  // namespace
}  // namespace basalt::models
