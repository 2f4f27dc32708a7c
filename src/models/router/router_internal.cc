#include "models/router/router_internal.h"

#include "core/status.h"

namespace basalt::models::router_internal {

RouterMetrics::RouterMetrics(metrics::Registry& registry)
    : requests(registry.Counter("basalt_model_requests_total",
                                "Model requests through the router, by client-facing model, "
                                "the provider that answered (or was tried last) and status",
                                {"model", "provider", "status"})),
      input_tokens(registry.Counter("basalt_model_input_tokens_total",
                                    "Input (prompt) tokens reported by upstreams",
                                    {"model", "provider"})),
      output_tokens(registry.Counter("basalt_model_output_tokens_total",
                                     "Output (completion) tokens reported by upstreams",
                                     {"model", "provider"})),
      latency(registry.Histogram("basalt_model_upstream_latency_seconds",
                                 "Duration of each upstream attempt (streams: until the "
                                 "stream opened)",
                                 {"provider"}, metrics::Registry::LatencyBuckets())),
      retries(registry.Counter("basalt_model_retries_total",
                               "Retries of the same upstream target after a retryable error",
                               {"provider"})),
      fallbacks(registry.Counter("basalt_model_fallbacks_total",
                                 "Moves to the next target of a model, by the provider left "
                                 "and why",
                                 {"from_provider", "reason"})),
      circuit_state(registry.Gauge("basalt_model_circuit_state",
                                   "Circuit breaker state per upstream target: 0 closed, "
                                   "1 half-open, 2 open",
                                   {"provider", "model"})) {}

void RouterMetrics::CountRequest(std::string_view model, std::string_view provider,
                                 absl::StatusCode code) {
  requests.With({model, provider, CodeName(code)}).Inc();
}

ProviderState::ProviderState(ModelProvider* p, const ProviderLimits& limits,
                             std::chrono::milliseconds router_timeout, RouterMetrics& m)
    : provider(p),
      name(p->name()),
      attempt_timeout(limits.attempt_timeout.count() > 0 ? limits.attempt_timeout : router_timeout),
      region(limits.region),
      semaphore(limits.max_in_flight, limits.max_queue),
      latency(m.latency.With({name})),
      retries(m.retries.With({name})) {}

ProviderState::~ProviderState() = default;

std::string_view FallbackReason(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kResourceExhausted:
      return "rate_limited";
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    default:
      return "unavailable";
  }
}

}  // namespace basalt::models::router_internal
