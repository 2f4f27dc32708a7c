// Router call path: fallback, retries, back-off, Retry-After, deadlines,
// per-attempt timeouts, routing and metrics.
#include "models/router/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/status.h"
#include "models/router/retry_after.h"
#include "models/router/router_test_util.h"

namespace basalt::models::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::ElementsAre;

class RouterChatTest : public RouterTest {
 protected:
  void SetUp() override {
    a_ = AddProvider("a");
    b_ = AddProvider("b");
    catalog_.aliases.push_back(Alias("chat", {{"a", "a-model"}, {"b", "b-model"}}));
  }

  absl::StatusOr<ChatResponse> Chat(Router& router, const std::string& model,
                                    const RequestContext& ctx = {},
                                    UpstreamTiming* timing = nullptr) {
    return Run(router.Chat(ctx, Req(model), timing));
  }

  static std::string Text(const ChatResponse& r) { return r.content.at(0).text; }

  FakeProvider* a_ = nullptr;
  FakeProvider* b_ = nullptr;
  CatalogConfig catalog_;
};

TEST_F(RouterChatTest, TheFirstTargetAnswers) {
  auto router = MakeRouter(catalog_, FastOptions());
  auto r = Chat(*router, "chat");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Text(*r), "a answered a-model");
  EXPECT_EQ(a_->chat_requests().at(0).model, "a-model");  // the upstream id, not the alias
  EXPECT_EQ(b_->calls(), 0);
}

TEST_F(RouterChatTest, FallsBackOnRateLimitsServerErrorsAndTimeouts) {
  const std::vector<std::pair<absl::Status, std::string>> cases = {
      {absl::ResourceExhaustedError("429"), "rate_limited"},
      {absl::UnavailableError("503"), "unavailable"},
      {absl::DeadlineExceededError("timed out"), "timeout"},
  };
  auto router = MakeRouter(catalog_, FastOptions());
  for (const auto& [error, reason] : cases) {
    a_->Push(FakeProvider::Step::Fail(error));
    auto r = Chat(*router, "chat");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(Text(*r), "b answered b-model");
    EXPECT_EQ(Metric("basalt_model_fallbacks_total{from_provider=\"a\",reason=\"" + reason + "\"}"),
              1.0);
  }
  EXPECT_EQ(b_->calls(), 3);
}

TEST_F(RouterChatTest, NeverFallsBackOnClientErrors) {
  auto router = MakeRouter(catalog_, FastOptions());
  for (const absl::Status& error :
       {absl::InvalidArgumentError("messages[0]: bad"), absl::NotFoundError("no such model"),
        absl::UnauthenticatedError("bad key"), absl::PermissionDeniedError("forbidden")}) {
    a_->Push(FakeProvider::Step::Fail(error));
    auto r = Chat(*router, "chat");
    EXPECT_EQ(r.status(), error);
  }
  EXPECT_EQ(a_->calls(), 4);
  EXPECT_EQ(b_->calls(), 0);
  EXPECT_EQ(Metric("basalt_model_requests_total{model=\"chat\",provider=\"a\","
                   "status=\"invalid_argument\"}"),
            1.0);
}

TEST_F(RouterChatTest, TheLastErrorIsReturnedWhenEveryTargetFails) {
  auto router = MakeRouter(catalog_, FastOptions());
  a_->Push(FakeProvider::Step::Fail(absl::UnavailableError("a is down")));
  b_->Push(FakeProvider::Step::Fail(absl::ResourceExhaustedError("b is busy")));
  auto r = Chat(*router, "chat");
  EXPECT_EQ(r.status(), absl::ResourceExhaustedError("b is busy"));
  EXPECT_EQ(Metric("basalt_model_requests_total{model=\"chat\",provider=\"b\","
                   "status=\"resource_exhausted\"}"),
            1.0);
  // No fallback is counted from the last target: there is nowhere to go.
  EXPECT_FALSE(Metric("basalt_model_fallbacks_total{from_provider=\"b\",reason=\"rate_limited\"}"));
}

TEST_F(RouterChatTest, RetriesTheSameTargetWithFullJitterBackoff) {
  RouterOptions options = FastOptions();
  options.retry.max_attempts = 4;
  options.retry.backoff = {milliseconds(10), milliseconds(25)};
  auto router = MakeRouter(catalog_, options, RealClock::Instance(), /*maximal_jitter=*/true);
  a_->PushFailures(absl::UnavailableError("503"), 3);
  const auto start = steady_clock::now();
  auto r = Chat(*router, "chat");
  const auto elapsed = steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Text(*r), "a answered a-model");
  EXPECT_EQ(a_->calls(), 4);
  EXPECT_EQ(b_->calls(), 0);
  // Windows [0, min(cap, base * 2^n)]: 10, 20, then capped at 25.
  EXPECT_THAT(random_->bounds(), ElementsAre(10u, 20u, 25u));
  EXPECT_GE(elapsed, milliseconds(55));  // the RNG chose each window's top
  EXPECT_EQ(Metric("basalt_model_retries_total{provider=\"a\"}"), 3.0);
}

TEST_F(RouterChatTest, FallsBackAfterRetriesAreExhausted) {
  RouterOptions options = FastOptions();
  options.retry.max_attempts = 2;
  auto router = MakeRouter(catalog_, options);
  a_->PushFailures(absl::UnavailableError("503"), 2);
  auto r = Chat(*router, "chat");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(a_->calls(), 2);
  EXPECT_EQ(b_->calls(), 1);
  EXPECT_EQ(Metric("basalt_model_retries_total{provider=\"a\"}"), 1.0);
}

TEST_F(RouterChatTest, HonoursRetryAfter) {
  RouterOptions options = FastOptions();
  options.retry.max_attempts = 2;
  auto router = MakeRouter(catalog_, options);  // jitter picks 0
  a_->Push(FakeProvider::Step::Fail(
      WithRetryAfter(absl::ResourceExhaustedError("429"), milliseconds(40))));
  const auto start = steady_clock::now();
  auto r = Chat(*router, "chat");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GE(steady_clock::now() - start, milliseconds(40));
  EXPECT_EQ(a_->calls(), 2);  // retried the same target after the hinted wait
  EXPECT_EQ(b_->calls(), 0);
}

TEST_F(RouterChatTest, ALongRetryAfterFallsBackInsteadOfWaiting) {
  RouterOptions options = FastOptions();
  options.retry.max_attempts = 3;
  options.retry.max_retry_wait = milliseconds(100);
  auto router = MakeRouter(catalog_, options);
  a_->Push(FakeProvider::Step::Fail(
      WithRetryAfter(absl::ResourceExhaustedError("429"), std::chrono::seconds(30))));
  const auto start = steady_clock::now();
  auto r = Chat(*router, "chat");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LT(steady_clock::now() - start, milliseconds(100));
  EXPECT_EQ(a_->calls(), 1);
  EXPECT_EQ(b_->calls(), 1);
}

TEST_F(RouterChatTest, NeverWaitsPastTheDeadline) {
  RouterOptions options = FastOptions();
  options.retry.max_attempts = 3;
  CatalogConfig only_a;
  only_a.aliases.push_back(Alias("solo", {{"a", "a-model"}}));
  auto router = MakeRouter(only_a, options);
  // The hinted wait (200 ms) would end after the deadline (50 ms): no wait, last error back.
  a_->Push(
      FakeProvider::Step::Fail(WithRetryAfter(absl::UnavailableError("503"), milliseconds(200))));
  RequestContext ctx;
  ctx.deadline = steady_clock::now() + milliseconds(50);
  const auto start = steady_clock::now();
  auto r = Chat(*router, "solo", ctx);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_LT(steady_clock::now() - start, milliseconds(50));
  EXPECT_EQ(a_->calls(), 1);
}

TEST_F(RouterChatTest, ASlowUpstreamIsCutAtTheDeadline) {
  RouterOptions options = FastOptions();
  options.retry.max_attempts = 3;
  auto router = MakeRouter(catalog_, options);
  a_->SetDefault(FakeProvider::Step::Slow(milliseconds(2000)));
  b_->SetDefault(FakeProvider::Step::Slow(milliseconds(2000)));
  RequestContext ctx;
  ctx.deadline = steady_clock::now() + milliseconds(40);
  const auto start = steady_clock::now();
  auto r = Chat(*router, "chat", ctx);
  const auto elapsed = steady_clock::now() - start;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_GE(elapsed, milliseconds(40));
  EXPECT_LT(elapsed, milliseconds(40 + 60));  // deadline plus scheduling slack
  EXPECT_EQ(a_->cancellations(), 1);
  EXPECT_EQ(b_->calls(), 0);  // no time was left for the fallback
}

TEST_F(RouterChatTest, PerAttemptTimeoutCancelsTheSlowUpstreamAndFallsBack) {
  RouterOptions options = FastOptions();
  options.retry.attempt_timeout = milliseconds(20);
  auto router = MakeRouter(catalog_, options);
  a_->Push(FakeProvider::Step::Slow(milliseconds(2000)));
  const auto start = steady_clock::now();
  auto r = Chat(*router, "chat");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Text(*r), "b answered b-model");
  EXPECT_LT(steady_clock::now() - start, milliseconds(500));
  EXPECT_EQ(a_->cancellations(), 1);  // the fake saw its call cancelled, not abandoned
  EXPECT_EQ(a_->in_flight(), 0);
  EXPECT_EQ(Metric("basalt_model_fallbacks_total{from_provider=\"a\",reason=\"timeout\"}"), 1.0);
}

TEST_F(RouterChatTest, AProvidersOwnTimeoutOverridesTheRouters) {
  RouterOptions options = FastOptions();
  options.retry.attempt_timeout = milliseconds(5000);
  options.provider_limits["a"].attempt_timeout = milliseconds(20);
  auto router = MakeRouter(catalog_, options);
  a_->Push(FakeProvider::Step::Slow(milliseconds(2000)));
  const auto start = steady_clock::now();
  auto r = Chat(*router, "chat");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Text(*r), "b answered b-model");
  EXPECT_LT(steady_clock::now() - start, milliseconds(500));
  EXPECT_EQ(a_->cancellations(), 1);
}

TEST_F(RouterChatTest, CancellingTheCallerStopsTheUpstreamCall) {
  auto router = MakeRouter(catalog_, FastOptions());
  a_->SetDefault(FakeProvider::Step::Slow(milliseconds(2000)));
  const auto start = steady_clock::now();
  auto raced = Run([&]() -> asio::awaitable<int> {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, milliseconds(10));
    // Named locals, not temporaries, inside co_await (g++ 12; see src/README.md).
    RequestContext ctx;
    ChatRequest request = Req("chat");
    auto outcome = co_await (router->Chat(ctx, std::move(request), nullptr) ||
                             timer.async_wait(asio::use_awaitable));
    co_return static_cast<int>(outcome.index());
  }());
  EXPECT_EQ(raced, 1);
  EXPECT_LT(steady_clock::now() - start, milliseconds(500));
  EXPECT_EQ(a_->cancellations(), 1);
  EXPECT_EQ(b_->calls(), 0);
  EXPECT_EQ(Metric("basalt_model_requests_total{model=\"chat\",provider=\"a\","
                   "status=\"cancelled\"}"),
            1.0);
}

TEST_F(RouterChatTest, RoutesProviderSlashModelDirectly) {
  auto router = MakeRouter(catalog_, FastOptions());
  auto r = Chat(*router, "b/some-model");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(b_->chat_requests().at(0).model, "some-model");
  EXPECT_EQ(Metric("basalt_model_requests_total{model=\"b/some-model\",provider=\"b\","
                   "status=\"ok\"}"),
            1.0);
}

TEST_F(RouterChatTest, UnknownNamesAreNotFoundWithoutADefault) {
  auto router = MakeRouter(catalog_, FastOptions());
  auto r = Chat(*router, "gpt-9");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorCodeOf(r.status()), "model_not_found");
  EXPECT_EQ(Metric("basalt_model_requests_total{model=\"unknown\",provider=\"none\","
                   "status=\"not_found\"}"),
            1.0);
}

TEST_F(RouterChatTest, UnknownNamesGoToTheDefaultProvider) {
  catalog_.default_provider = "b";
  auto router = MakeRouter(catalog_, FastOptions());
  auto r = Chat(*router, "meta-llama/Llama-3-8B");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(b_->chat_requests().at(0).model, "meta-llama/Llama-3-8B");
}

TEST_F(RouterChatTest, UnlistedNamesBeyondTheCapShareOneSeries) {
  catalog_.default_provider = "b";
  RouterOptions options = FastOptions();
  options.max_dynamic_routes = 1;
  auto router = MakeRouter(catalog_, options);
  ASSERT_TRUE(Chat(*router, "first").ok());
  ASSERT_TRUE(Chat(*router, "second").ok());
  EXPECT_EQ(b_->chat_requests().at(1).model, "second");
  EXPECT_EQ(Metric("basalt_model_requests_total{model=\"first\",provider=\"b\",status=\"ok\"}"),
            1.0);
  EXPECT_EQ(Metric("basalt_model_requests_total{model=\"other\",provider=\"b\",status=\"ok\"}"),
            1.0);
}

TEST_F(RouterChatTest, RecordsMetricsAndUpstreamTiming) {
  auto router = MakeRouter(catalog_, FastOptions());
  a_->Push(FakeProvider::Step::Fail(absl::UnavailableError("503")));
  b_->Push(FakeProvider::Step::Slow(milliseconds(15)));
  UpstreamTiming timing;
  auto r = Chat(*router, "chat", {}, &timing);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(timing.attempts, 2);
  EXPECT_EQ(timing.provider, "b");
  EXPECT_EQ(timing.model, "b-model");
  EXPECT_GE(timing.upstream, milliseconds(15));
  EXPECT_EQ(Metric("basalt_model_requests_total{model=\"chat\",provider=\"b\",status=\"ok\"}"),
            1.0);
  EXPECT_EQ(Metric("basalt_model_input_tokens_total{model=\"chat\",provider=\"b\"}"), 2.0);
  EXPECT_EQ(Metric("basalt_model_output_tokens_total{model=\"chat\",provider=\"b\"}"), 3.0);
  EXPECT_EQ(Metric("basalt_model_upstream_latency_seconds_count{provider=\"a\"}"), 1.0);
  EXPECT_EQ(Metric("basalt_model_upstream_latency_seconds_count{provider=\"b\"}"), 1.0);
  EXPECT_EQ(Metric("basalt_model_circuit_state{provider=\"a\",model=\"a-model\"}"), 0.0);
  EXPECT_EQ(Metric("basalt_model_fallbacks_total{from_provider=\"a\",reason=\"unavailable\"}"),
            1.0);
}

TEST_F(RouterChatTest, EmbedRoutesAndCountsInputTokens) {
  catalog_.aliases.push_back(Alias("embed", {{"b", "b-embed"}}));
  auto router = MakeRouter(catalog_, FastOptions());
  EmbeddingRequest request;
  request.model = "embed";
  request.inputs = {"one two", "three"};
  auto r = Run(router->Embed({}, std::move(request), nullptr));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->embeddings.size(), 2u);
  EXPECT_EQ(b_->embed_requests().at(0).model, "b-embed");
  EXPECT_EQ(Metric("basalt_model_input_tokens_total{model=\"embed\",provider=\"b\"}"), 3.0);
}

TEST_F(RouterChatTest, ListsAliasesThenEveryProvidersModels) {
  b_->SetModels({ModelInfo{"m1", "b", ""}, ModelInfo{"m2", "b", "acme"}});
  FakeProvider* broken = AddProvider("c");
  broken->SetListError(absl::UnavailableError("down"));
  auto router = MakeRouter(catalog_, FastOptions());
  auto r = Run(router->ListModels({}));
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<std::string> ids;
  for (const ModelInfo& m : *r) ids.push_back(m.id + "@" + m.provider + "@" + m.owned_by);
  EXPECT_THAT(ids, ElementsAre("chat@a@basalt", "a/fake-1@a@fake", "b/m1@b@b", "b/m2@b@acme"));
}

TEST_F(RouterChatTest, CreateNamesBadOptionsAndCatalogEntries) {
  CatalogConfig bad = catalog_;
  bad.aliases.push_back(Alias("x", {{"ghost", "m"}}));
  RouterOptions options;
  options.retry.max_attempts = 0;
  options.provider_limits["nobody"] = ProviderLimits{};
  auto router = Router::Create(registry_, bad, options, metrics_);
  EXPECT_EQ(router.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(router.status().message(),
            "models.aliases[1].targets[0].provider: unknown provider 'ghost'; "
            "router.max_attempts: must be at least 1; "
            "providers.nobody: limits given for unknown provider 'nobody'");
}

}  // namespace
}  // namespace basalt::models::testing
