// Router circuit breakers and concurrency limits.
#include "models/router/router.h"

#include <gtest/gtest.h>

#include "models/router/retry_after.h"
#include "models/router/router_test_util.h"

namespace basalt::models::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

class RouterLimitsTest : public RouterTest {
 protected:
  void SetUp() override {
    a_ = AddProvider("a");
    b_ = AddProvider("b");
    catalog_.aliases.push_back(Alias("chat", {{"a", "a-model"}, {"b", "b-model"}}));
    catalog_.aliases.push_back(Alias("solo", {{"a", "a-model"}}));
  }

  RouterOptions BreakerOptions() {
    RouterOptions options = FastOptions();
    options.breaker.failure_threshold = 2;
    options.breaker.cool_down = milliseconds(1000);
    options.breaker.half_open_probes = 1;
    return options;
  }

  absl::StatusOr<ChatResponse> Chat(Router& router, const std::string& model,
                                    const RequestContext& ctx = {}) {
    return Run(router.Chat(ctx, Req(model), nullptr));
  }

  std::optional<double> CircuitGauge() {
    return Metric("basalt_model_circuit_state{provider=\"a\",model=\"a-model\"}");
  }

  FakeProvider* a_ = nullptr;
  FakeProvider* b_ = nullptr;
  CatalogConfig catalog_;
  FakeClock clock_;
};

TEST_F(RouterLimitsTest, BreakerOpensSkipsHalfOpensAndCloses) {
  auto router = MakeRouter(catalog_, BreakerOptions(), clock_);
  a_->PushFailures(absl::UnavailableError("503"), 2);
  ASSERT_TRUE(Chat(*router, "chat").ok());
  EXPECT_EQ(router->CircuitStateForTest("a", "a-model"), BreakerState::kClosed);
  ASSERT_TRUE(Chat(*router, "chat").ok());
  EXPECT_EQ(router->CircuitStateForTest("a", "a-model"), BreakerState::kOpen);
  EXPECT_EQ(CircuitGauge(), 2.0);

  // Open: a is skipped without a call.
  auto skipped = Chat(*router, "chat");
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(skipped->content[0].text, "b answered b-model");
  EXPECT_EQ(a_->calls(), 2);
  EXPECT_EQ(Metric("basalt_model_fallbacks_total{from_provider=\"a\",reason=\"circuit_open\"}"),
            1.0);

  // After the cool-down one probe goes through; its success closes the breaker.
  clock_.Advance(milliseconds(1000));
  auto probed = Chat(*router, "chat");
  ASSERT_TRUE(probed.ok());
  EXPECT_EQ(probed->content[0].text, "a answered a-model");
  EXPECT_EQ(a_->calls(), 3);
  EXPECT_EQ(router->CircuitStateForTest("a", "a-model"), BreakerState::kClosed);
  EXPECT_EQ(CircuitGauge(), 0.0);
}

TEST_F(RouterLimitsTest, AFailedProbeReopensTheBreaker) {
  auto router = MakeRouter(catalog_, BreakerOptions(), clock_);
  a_->PushFailures(absl::UnavailableError("503"), 3);
  ASSERT_TRUE(Chat(*router, "chat").ok());
  ASSERT_TRUE(Chat(*router, "chat").ok());
  clock_.Advance(milliseconds(1000));
  EXPECT_EQ(router->CircuitStateForTest("a", "a-model"), BreakerState::kHalfOpen);
  EXPECT_EQ(CircuitGauge(), 1.0);
  ASSERT_TRUE(Chat(*router, "chat").ok());  // the probe fails; b answers
  EXPECT_EQ(a_->calls(), 3);
  EXPECT_EQ(router->CircuitStateForTest("a", "a-model"), BreakerState::kOpen);
  ASSERT_TRUE(Chat(*router, "chat").ok());
  EXPECT_EQ(a_->calls(), 3);  // open again for a fresh cool-down
}

TEST_F(RouterLimitsTest, ClientErrorsDoNotTripTheBreaker) {
  auto router = MakeRouter(catalog_, BreakerOptions(), clock_);
  a_->PushFailures(absl::InvalidArgumentError("bad"), 5);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(Chat(*router, "chat").ok());
  EXPECT_EQ(router->CircuitStateForTest("a", "a-model"), BreakerState::kClosed);
}

TEST_F(RouterLimitsTest, ShortClientDeadlinesDoNotTripTheBreaker) {
  auto router = MakeRouter(catalog_, BreakerOptions());  // real clock: deadlines are real
  a_->SetDefault(FakeProvider::Step::Slow(milliseconds(500)));
  for (int i = 0; i < 3; ++i) {
    RequestContext ctx;
    ctx.deadline = steady_clock::now() + milliseconds(10);
    EXPECT_EQ(Chat(*router, "solo", ctx).status().code(), absl::StatusCode::kDeadlineExceeded);
  }
  EXPECT_EQ(a_->calls(), 3);
  EXPECT_EQ(router->CircuitStateForTest("a", "a-model"), BreakerState::kClosed);
}

TEST_F(RouterLimitsTest, EveryCircuitOpenIsUnavailableWithARetryHint) {
  auto router = MakeRouter(catalog_, BreakerOptions(), clock_);
  a_->PushFailures(absl::UnavailableError("503"), 2);
  EXPECT_FALSE(Chat(*router, "solo").ok());
  EXPECT_FALSE(Chat(*router, "solo").ok());
  clock_.Advance(milliseconds(400));
  auto r = Chat(*router, "solo");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(RetryAfterOf(r.status()), milliseconds(600));
  EXPECT_EQ(a_->calls(), 2);
}

TEST_F(RouterLimitsTest, ConcurrencyLimitQueuesTheExtraCalls) {
  RouterOptions options = FastOptions();
  options.provider_limits["a"] = ProviderLimits{1, -1};
  auto router = MakeRouter(catalog_, options);
  a_->SetDefault(FakeProvider::Step::Slow(milliseconds(20)));
  const auto start = steady_clock::now();
  auto results = ChatConcurrently(*router, "solo", std::vector<RequestContext>(3));
  for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(a_->max_in_flight(), 1);
  EXPECT_GE(steady_clock::now() - start, milliseconds(60));  // one after another
  EXPECT_EQ(router->InFlightForTest("a"), 0);
}

TEST_F(RouterLimitsTest, AFullQueueFallsBackAsSaturated) {
  RouterOptions options = FastOptions();
  options.provider_limits["a"] = ProviderLimits{1, 0};
  auto router = MakeRouter(catalog_, options);
  a_->SetDefault(FakeProvider::Step::Slow(milliseconds(20)));
  auto results = ChatConcurrently(*router, "chat", std::vector<RequestContext>(2));
  ASSERT_TRUE(results[0].ok());
  ASSERT_TRUE(results[1].ok());
  EXPECT_EQ(results[0]->content[0].text, "a answered a-model");
  EXPECT_EQ(results[1]->content[0].text, "b answered b-model");
  EXPECT_EQ(Metric("basalt_model_fallbacks_total{from_provider=\"a\",reason=\"saturated\"}"), 1.0);
}

TEST_F(RouterLimitsTest, AFullQueueWithNoFallbackIsRefusedWithRetryAfter) {
  RouterOptions options = FastOptions();
  options.provider_limits["a"] = ProviderLimits{1, 0};
  options.saturated_retry_after = milliseconds(2000);
  auto router = MakeRouter(catalog_, options);
  a_->SetDefault(FakeProvider::Step::Slow(milliseconds(20)));
  auto results = ChatConcurrently(*router, "solo", std::vector<RequestContext>(2));
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(RetryAfterOf(results[1].status()), milliseconds(2000));
  EXPECT_EQ(a_->calls(), 1);
}

TEST_F(RouterLimitsTest, WaitingForASlotEndsAtTheDeadline) {
  RouterOptions options = FastOptions();
  options.provider_limits["a"] = ProviderLimits{1, -1};
  auto router = MakeRouter(catalog_, options);
  a_->SetDefault(FakeProvider::Step::Slow(milliseconds(300)));
  std::vector<RequestContext> ctxs(2);
  ctxs[1].deadline = steady_clock::now() + milliseconds(30);
  auto results = ChatConcurrently(*router, "solo", ctxs);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kDeadlineExceeded) << results[1].status();
  EXPECT_EQ(a_->calls(), 1);
}

}  // namespace
}  // namespace basalt::models::testing
