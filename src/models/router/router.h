// Router: the one ModelProvider the rest of basalt calls. It turns a
// client-facing model name into upstream calls through the catalog (catalog.h),
// and makes them dependable:
//
//   - targets are tried in order; it falls back to the next target on 429
//     (kResourceExhausted), 5xx and connection errors (kUnavailable) and timeouts
//     (kDeadlineExceeded), and on an open circuit or a full queue. Every other
//     error (400, 401, 403, 404, ...) is returned at once;
//   - each target is retried up to `max_attempts` times first, waiting a
//     full-jitter exponential back-off, or the upstream's Retry-After hint
//     (retry_after.h) when longer. No wait goes past ctx.deadline: a retry that
//     cannot start in time is skipped, and once the deadline passes the call ends
//     with kDeadlineExceeded;
//   - each attempt races a timer: min(attempt_timeout, time left); the loser is
//     cancelled, so a slow upstream call is stopped, not abandoned;
//   - a concurrency limit per PROVIDER (one provider is one upstream endpoint:
//     an API account or a local server), an AsyncSemaphore whose waiters are
//     bounded by the deadline and, optionally, by a queue length;
//   - a circuit breaker per TARGET (provider + upstream model), so one failing
//     model does not take its provider's other models down with it;
//   - residency: when ctx.region is set, targets of providers in another
//     region are skipped; when none is left the call fails with
//     kFailedPrecondition, code "region_unavailable", and is never sent
//     elsewhere;
//   - streams fall back only until StreamChat succeeds, i.e. before the first
//     byte reaches the client; the stream returned holds its concurrency slot
//     until it ends or is destroyed.
//
// Cancellation: cancelling the awaiting coroutine (asio per-operation
// cancellation, e.g. `||` with a disconnect watcher) stops any wait or upstream
// call promptly and the call returns kCancelled.
//
// Metrics (Prometheus, prefix basalt_model_): requests_total{model,provider,
// status}, input_tokens_total / output_tokens_total{model,provider},
// upstream_latency_seconds{provider} (one observation per attempt; for streams,
// until the stream opened), retries_total{provider}, fallbacks_total{
// from_provider,reason} (reason: rate_limited, unavailable, timeout,
// circuit_open, saturated), circuit_state{provider,model} (0 closed, 1 half-open,
// 2 open). `model` is the name the client sent (at most max_dynamic_routes
// distinct unlisted names get their own series; later ones are "other", names
// that resolve nowhere are "unknown"); status is "ok" or the absl code name.
//
// Time: "now" comes from the injected Clock (deadline checks, breaker cool-downs,
// latency); waits are asio steady_timers armed for the durations computed from
// it. After a stream opens, its reads are bounded by the provider (ctx.deadline),
// not by the attempt timeout.
//
// Thread-safety: all methods may be called concurrently from any io thread (each
// io thread runs its own single-threaded io_context). The Router must outlive
// every call and every stream it returned. Never blocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "core/context.h"
#include "core/metrics.h"
#include "models/provider.h"
#include "models/router/backoff.h"
#include "models/router/catalog.h"
#include "models/router/circuit_breaker.h"
#include "models/router/provider_registry.h"

namespace basalt::models {

// Setting names in comments are the basalt.yaml keys (docs/CONFIG.md).
struct RetryPolicy {
  int max_attempts = 2;  // router.max_attempts: per target, the first try included
  BackoffPolicy backoff{std::chrono::milliseconds(100),    // router.backoff_base_ms
                        std::chrono::milliseconds(2000)};  // router.backoff_cap_ms
  // router.attempt_timeout_ms: each attempt's time limit unless its provider
  // sets its own; 0: only the request's deadline limits it.
  std::chrono::milliseconds attempt_timeout{60'000};
  // router.max_retry_wait_ms: a retry that would have to wait longer than this
  // (a long Retry-After) falls back to the next target instead of waiting.
  std::chrono::milliseconds max_retry_wait{10'000};
};

struct ProviderLimits {
  // providers[].max_concurrency: calls in flight to the provider; 0: unlimited.
  int64_t max_in_flight = 0;
  // providers[].max_queue: calls allowed to wait for a slot; past it the target
  // is skipped as "saturated" (kResourceExhausted with a Retry-After hint if it
  // was the last). -1: unbounded (waits are still bounded by the deadline);
  // 0: never wait.
  int64_t max_queue = -1;
  // providers[].timeout_ms: per-attempt limit for this provider; 0: the
  // router's attempt_timeout.
  std::chrono::milliseconds attempt_timeout{0};
  // providers[].region (else the node's `region`): where the provider runs.
  // A request whose context names a region (tenant residency) is only sent to
  // providers of that region, fallbacks included.
  std::string region;
};

struct RouterOptions {
  RetryPolicy retry;
  BreakerConfig breaker;          // router.breaker_failures, router.breaker_cooldown_ms
  ProviderLimits default_limits;  // providers not listed below
  std::map<std::string, ProviderLimits> provider_limits;  // by provider name
  // Distinct unlisted model names ("openai/x", or names sent to the default
  // provider) given their own metric series and circuit breaker.
  size_t max_dynamic_routes = 256;
  // Hint attached when every target refused for a full queue.
  std::chrono::milliseconds saturated_retry_after{1000};

  // Every invalid setting, named by its basalt.yaml key ("router.max_attempts: ...").
  std::vector<std::string> Problems() const;
};

// Filled in by a call so the HTTP layer can tell gateway time from upstream
// time: gateway overhead = total request time - `upstream`. For streams the
// router keeps adding the time spent awaiting upstream deltas, so the struct must
// outlive the stream.
struct UpstreamTiming {
  std::chrono::nanoseconds upstream{0};  // awaiting provider calls, all attempts
  int attempts = 0;                      // upstream calls made
  std::string provider;                  // the provider that answered, or was tried last
  std::string model;                     // the upstream model id it was sent
};

namespace router_internal {
struct ProviderState;
struct TargetState;
struct RouteState;
struct RouterMetrics;
}  // namespace router_internal

class Router final : public ModelProvider {
 public:
  // kInvalidArgument naming every bad catalog entry or option. `providers`,
  // `metrics` and `clock` must outlive the Router. `random` null: seeded from
  // std::random_device.
  static absl::StatusOr<std::unique_ptr<Router>> Create(const ProviderRegistry& providers,
                                                        CatalogConfig catalog,
                                                        RouterOptions options,
                                                        metrics::Registry& metrics,
                                                        const Clock& clock = RealClock::Instance(),
                                                        std::unique_ptr<Random> random = nullptr);
  ~Router() override;

  std::string_view name() const override { return "router"; }

  // `request.model` is the client-facing name. The by-value overloads avoid a
  // copy when the caller moves its request in; `timing` may be null.
  boost::asio::awaitable<absl::StatusOr<ChatResponse>> Chat(const RequestContext& ctx,
                                                            ChatRequest request,
                                                            UpstreamTiming* timing);
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> StreamChat(
      const RequestContext& ctx, ChatRequest request, UpstreamTiming* timing);
  boost::asio::awaitable<absl::StatusOr<EmbeddingResponse>> Embed(const RequestContext& ctx,
                                                                  EmbeddingRequest request,
                                                                  UpstreamTiming* timing);

  // ModelProvider.
  boost::asio::awaitable<absl::StatusOr<ChatResponse>> Chat(const RequestContext& ctx,
                                                            const ChatRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> StreamChat(
      const RequestContext& ctx, const ChatRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<EmbeddingResponse>> Embed(
      const RequestContext& ctx, const EmbeddingRequest& request) override;
  // The aliases (provider: their first target's), then every provider's own
  // models as "provider/id" (routable as such). A provider that fails to list is
  // left out rather than failing the whole list. Listing bypasses breakers and
  // concurrency limits; each provider gets its attempt timeout.
  boost::asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> ListModels(
      const RequestContext& ctx) override;

  // For tests: the breaker state of a target; kClosed for one never used.
  BreakerState CircuitStateForTest(std::string_view provider, std::string_view model);
  int64_t InFlightForTest(std::string_view provider) const;

 private:
  // What a name resolved to.
  struct RouteRef {
    const router_internal::RouteState* route = nullptr;
    std::string model;  // the upstream id when `route` is an overflow route; else empty
  };
  template <class T>
  struct Served;

  Router(const ProviderRegistry& providers, Catalog catalog, RouterOptions options,
         metrics::Registry& metrics, const Clock& clock, std::unique_ptr<Random> random);

  router_internal::TargetState& TargetLocked(router_internal::ProviderState& provider,
                                             const std::string& model)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::unique_ptr<router_internal::RouteState> MakeRouteLocked(
      std::string label, const std::vector<TargetConfig>& targets)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<RouteRef> Route(std::string_view model);

  template <class T, class Call>
  boost::asio::awaitable<absl::StatusOr<Served<T>>> Execute(const RequestContext& ctx,
                                                            const RouteRef& route, Call& call,
                                                            UpstreamTiming& timing);

  const ProviderRegistry& providers_;
  const Catalog catalog_;
  const RouterOptions options_;
  const Clock& clock_;
  const std::unique_ptr<Random> random_;
  std::unique_ptr<router_internal::RouterMetrics> metrics_;
  // Built in Create and never changed: safe to read without the lock.
  absl::flat_hash_map<std::string, std::unique_ptr<router_internal::ProviderState>> by_provider_;
  absl::flat_hash_map<std::string, std::unique_ptr<router_internal::RouteState>> aliases_;

  absl::Mutex mu_;  // guards the maps that grow as unlisted names arrive
  // Keyed "provider\x1fmodel"; one breaker per upstream target, shared by every
  // route that reaches it.
  absl::flat_hash_map<std::string, std::unique_ptr<router_internal::TargetState>> targets_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<router_internal::RouteState>> dynamic_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace basalt::models
