// Router streams: fallback only before the stream opens, errors afterwards
// propagate, and the stream keeps its concurrency slot until it ends.
#include "models/router/router.h"

#include <gtest/gtest.h>

#include "models/router/router_test_util.h"

namespace basalt::models::testing {
namespace {

using std::chrono::milliseconds;

class RouterStreamTest : public RouterTest {
 protected:
  void SetUp() override {
    a_ = AddProvider("a");
    b_ = AddProvider("b");
    catalog_.aliases.push_back(Alias("chat", {{"a", "a-model"}, {"b", "b-model"}}));
  }

  absl::StatusOr<std::unique_ptr<ChatStream>> Open(Router& router, UpstreamTiming* timing) {
    return Run(router.StreamChat(ctx_, Req("chat"), timing));
  }

  // Reads to the end: the text, or the error that ended the stream.
  absl::StatusOr<std::string> Drain(ChatStream& stream) {
    return Run([&]() -> asio::awaitable<absl::StatusOr<std::string>> {
      std::string text;
      while (true) {
        absl::StatusOr<std::optional<ChatDelta>> delta = co_await stream.Next();
        if (!delta.ok()) co_return delta.status();
        if (!delta->has_value()) co_return text;
        if ((*delta)->type == ChatDelta::Type::kTextDelta) text += (*delta)->text;
      }
    }());
  }

  FakeProvider* a_ = nullptr;
  FakeProvider* b_ = nullptr;
  CatalogConfig catalog_;
  RequestContext ctx_;
};

TEST_F(RouterStreamTest, FallsBackWhenTheStreamFailsToOpen) {
  auto router = MakeRouter(catalog_, FastOptions());
  a_->Push(FakeProvider::Step::Fail(absl::UnavailableError("502 before any byte")));
  auto stream = Open(*router, nullptr);
  ASSERT_TRUE(stream.ok()) << stream.status();
  auto text = Drain(**stream);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "b answered b-model");
  stream->reset();
  EXPECT_EQ(Metric("basalt_model_requests_total{model=\"chat\",provider=\"b\",status=\"ok\"}"),
            1.0);
  EXPECT_EQ(Metric("basalt_model_output_tokens_total{model=\"chat\",provider=\"b\"}"), 3.0);
  EXPECT_EQ(Metric("basalt_model_fallbacks_total{from_provider=\"a\",reason=\"unavailable\"}"),
            1.0);
}

TEST_F(RouterStreamTest, ASlowOpenTimesOutAndFallsBack) {
  RouterOptions options = FastOptions();
  options.retry.attempt_timeout = milliseconds(20);
  auto router = MakeRouter(catalog_, options);
  a_->Push(FakeProvider::Step::Slow(milliseconds(2000)));
  auto stream = Open(*router, nullptr);
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ(a_->cancellations(), 1);
  EXPECT_EQ(*Drain(**stream), "b answered b-model");
}

TEST_F(RouterStreamTest, ErrorsAfterTheStreamOpenedPropagate) {
  auto router = MakeRouter(catalog_, FastOptions());
  FakeProvider::Step step;
  step.stream_error = absl::UnavailableError("connection reset mid-stream");
  a_->Push(step);
  auto stream = Open(*router, nullptr);
  ASSERT_TRUE(stream.ok()) << stream.status();
  auto text = Drain(**stream);
  EXPECT_EQ(text.status(), absl::UnavailableError("connection reset mid-stream"));
  EXPECT_EQ(b_->calls(), 0);  // too late to fall back: bytes may have reached the client
  // Later reads keep failing the same way.
  auto again = Drain(**stream);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
  stream->reset();
  EXPECT_EQ(Metric("basalt_model_requests_total{model=\"chat\",provider=\"a\","
                   "status=\"unavailable\"}"),
            1.0);
}

TEST_F(RouterStreamTest, TheStreamHoldsItsSlotUntilDestroyed) {
  RouterOptions options = FastOptions();
  options.provider_limits["a"] = ProviderLimits{1, 0};
  auto router = MakeRouter(catalog_, options);
  auto first = Open(*router, nullptr);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(router->InFlightForTest("a"), 1);
  EXPECT_EQ(a_->open_streams(), 1);
  // A second stream finds the queue full and falls back to b.
  auto second = Open(*router, nullptr);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*Drain(**second), "b answered b-model");
  first->reset();  // abandoned early: the client went away
  EXPECT_EQ(router->InFlightForTest("a"), 0);
  EXPECT_EQ(a_->open_streams(), 0);
  EXPECT_EQ(Metric("basalt_model_requests_total{model=\"chat\",provider=\"a\","
                   "status=\"cancelled\"}"),
            1.0);
}

TEST_F(RouterStreamTest, ReadingToTheEndFreesTheSlot) {
  RouterOptions options = FastOptions();
  options.provider_limits["a"] = ProviderLimits{1, 0};
  auto router = MakeRouter(catalog_, options);
  auto stream = Open(*router, nullptr);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE(Drain(**stream).ok());
  EXPECT_EQ(router->InFlightForTest("a"), 0);  // freed at the end, before destruction
}

TEST_F(RouterStreamTest, TimingCountsTimeAwaitingDeltas) {
  auto router = MakeRouter(catalog_, FastOptions());
  FakeProvider::Step step;
  step.delay = milliseconds(5);
  step.delta_delay = milliseconds(3);
  a_->Push(step);
  UpstreamTiming timing;
  auto stream = Open(*router, &timing);
  ASSERT_TRUE(stream.ok());
  const auto opened = timing.upstream;
  EXPECT_GE(opened, milliseconds(5));
  ASSERT_TRUE(Drain(**stream).ok());
  // Six deltas (start, block start, text, block stop, stop, usage), 3 ms each.
  EXPECT_GE(timing.upstream - opened, milliseconds(18));
  EXPECT_EQ(timing.provider, "a");
}

}  // namespace
}  // namespace basalt::models::testing
