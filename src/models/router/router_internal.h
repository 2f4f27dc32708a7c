// Internals of Router shared by its .cc files: the per-provider, per-target and
// per-route state, the metric families, and the stream wrapper. Not for use
// outside src/models/router/.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "absl/status/status.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/strings.h"
#include "models/provider.h"
#include "models/router/circuit_breaker.h"
#include "models/router/router.h"
#include "models/router/semaphore.h"

namespace basalt::models::router_internal {

struct RouterMetrics {
  explicit RouterMetrics(metrics::Registry& registry);

  metrics::CounterFamily& requests;       // {model, provider, status}
  metrics::CounterFamily& input_tokens;   // {model, provider}
  metrics::CounterFamily& output_tokens;  // {model, provider}
  metrics::HistogramFamily& latency;      // {provider}
  metrics::CounterFamily& retries;        // {provider}
  metrics::CounterFamily& fallbacks;      // {from_provider, reason}
  metrics::GaugeFamily& circuit_state;    // {provider, model}

  void CountRequest(std::string_view model, std::string_view provider, absl::StatusCode code);
};

struct TargetState;
struct RouteState;

// One registered provider: its concurrency limit and per-provider series.
struct ProviderState {
  // `router_timeout` applies when `limits` sets no attempt timeout of its own.
  ProviderState(ModelProvider* p, const ProviderLimits& limits,
                std::chrono::milliseconds router_timeout, RouterMetrics& m);
  ~ProviderState();
  ModelProvider* const provider;
  const std::string name;
  const std::chrono::milliseconds attempt_timeout;  // 0: none
  const std::string region;                          // residency tag
  AsyncSemaphore semaphore;
  metrics::HistogramSeries& latency;
  metrics::CounterSeries& retries;
  // Serves unlisted names once Router's max_dynamic_routes are in use: label
  // "other", no circuit breaker, the upstream model id given per call.
  std::unique_ptr<TargetState> overflow_target;
  std::unique_ptr<RouteState> overflow_route;
};

// One upstream target (provider + upstream model id) and its circuit breaker.
struct TargetState {
  TargetState(ProviderState* p, std::string m, const BreakerConfig& config, const Clock& clock,
              metrics::GaugeSeries* gauge)
      : provider(p), model(std::move(m)), breaker(config, clock, gauge) {}
  ProviderState* const provider;
  const std::string model;  // empty for a provider's overflow target (model given per call)
  CircuitBreaker breaker;
};

// A target as reached through one client-facing name, with that name's series
// looked up once so the hot path never builds label keys.
struct Leg {
  TargetState* target;
  metrics::CounterSeries* ok;  // requests_total{model, provider, "ok"}
  metrics::CounterSeries* input_tokens;
  metrics::CounterSeries* output_tokens;
};

struct RouteState {
  std::string label;  // the `model` label value
  std::vector<Leg> legs;
};

// Whether the router may retry or fall back after this error.
inline bool IsRetryable(absl::StatusCode code) {
  return code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded;
}

// The fallbacks_total reason for a retryable error.
std::string_view FallbackReason(absl::StatusCode code);

// Runs `call(provider, model)` (a function returning the provider call's
// awaitable) against a timer of `limit`; whichever finishes first cancels the
// other. kDeadlineExceeded when the timer wins, kCancelled when the awaiting
// coroutine is cancelled first. nanoseconds::max(): no timer at all.
template <class T, class Call>
boost::asio::awaitable<absl::StatusOr<T>> RaceTimer(Call& call, ModelProvider& provider,
                                                    const std::string& model,
                                                    std::chrono::nanoseconds limit) {
  namespace asio = boost::asio;
  if (limit == std::chrono::nanoseconds::max()) co_return co_await call(provider, model);
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  auto outcome =
      co_await (call(provider, model) || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (outcome.index() == 0) co_return std::move(std::get<0>(outcome));
  if (std::get<0>(std::get<1>(outcome))) {
    co_return absl::CancelledError("upstream call cancelled");
  }
  co_return absl::DeadlineExceededError(
      StrCat(provider.name(), ": no answer within ",
             std::chrono::duration_cast<std::chrono::milliseconds>(limit).count(), " ms"));
}

// What a successful StreamChat hands back: the provider's stream plus everything
// that must live as long as it — the concurrency slot, the breaker verdict still
// to give, and the series to count the outcome in once the stream ends.
struct StreamLease {
  std::unique_ptr<ChatStream> inner;
  AsyncSemaphore::Permit permit;
  CircuitBreaker::Ticket ticket;
  const Leg* leg = nullptr;
  std::string label;
  RouterMetrics* metrics = nullptr;
  const Clock* clock = nullptr;
  UpstreamTiming* timing = nullptr;  // the caller's, may be null
};

std::unique_ptr<ChatStream> MakeRoutedStream(StreamLease lease);

}  // namespace basalt::models::router_internal
