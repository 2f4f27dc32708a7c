// Router's call path: targets in order, retries with back-off, per-attempt
// timeouts, circuit breakers and concurrency limits (see router.h).
#include <algorithm>
#include <exception>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/status.h"
#include "core/strings.h"
#include "models/router/retry_after.h"
#include "models/router/router.h"
#include "models/router/router_internal.h"

namespace basalt::models {

namespace asio = boost::asio;
using router_internal::Leg;
using router_internal::ProviderState;
using router_internal::TargetState;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

// Time left before `deadline`; nanoseconds::max() when there is none.
nanoseconds TimeLeft(std::chrono::steady_clock::time_point deadline,
                     std::chrono::steady_clock::time_point now) {
  if (deadline == std::chrono::steady_clock::time_point::max()) return nanoseconds::max();
  return deadline > now ? deadline - now : nanoseconds(0);
}

asio::awaitable<absl::Status> Sleep(nanoseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec) co_return absl::CancelledError("cancelled while waiting to retry");
  co_return absl::OkStatus();
}

absl::Status DeadlineError(std::string_view model, const absl::Status& last) {
  if (last.code() == absl::StatusCode::kDeadlineExceeded) return last;
  std::string message = StrCat("model '", model, "': the request deadline passed");
  if (!last.ok()) StrAppend(&message, " (last error: ", ToStd(last.message()), ")");
  return absl::DeadlineExceededError(message);
}

// asio throws operation_aborted into a coroutine cancelled while it awaits; the
// router answers with a status instead.
absl::Status FromException(const std::exception& e) {
  return absl::CancelledError(StrCat("model call cancelled (", e.what(), ")"));
}

}  // namespace

template <class T>
struct Router::Served {
  T value;
  AsyncSemaphore::Permit permit;  // the caller's concurrency slot
  CircuitBreaker::Ticket ticket;  // the breaker verdict still to give
  const Leg* leg = nullptr;
};

template <class T, class Call>
asio::awaitable<absl::StatusOr<Router::Served<T>>> Router::Execute(const RequestContext& ctx,
                                                                   const RouteRef& route,
                                                                   Call& call,
                                                                   UpstreamTiming& timing) {
  const std::vector<Leg>& legs = route.route->legs;
  absl::Status last_error;
  bool any_attempt = false;
  milliseconds shortest_cool_down = milliseconds::max();
  bool any_in_region = false;
  for (size_t i = 0; i < legs.size(); ++i) {
    const Leg& leg = legs[i];
    TargetState& target = *leg.target;
    ProviderState& provider = *target.provider;
    // Residency: another region's provider is never tried, not even as a fallback.
    if (!ctx.region.empty() && provider.region != ctx.region) continue;
    any_in_region = true;
    const std::string& model = route.model.empty() ? target.model : route.model;
    std::string_view leave_reason;  // why this target was given up, if retryable
    for (int attempt = 0; attempt < options_.retry.max_attempts; ++attempt) {
      if (attempt > 0) {
        milliseconds wait = FullJitterBackoff(options_.retry.backoff, attempt - 1, *random_);
        if (auto hint = RetryAfterOf(last_error)) wait = std::max(wait, *hint);
        // A wait that would end past the deadline is never started.
        if (wait > options_.retry.max_retry_wait ||
            nanoseconds(wait) >= TimeLeft(ctx.deadline, clock_.Steady())) {
          break;
        }
        provider.retries.Inc();
        absl::Status slept = co_await Sleep(wait);
        if (!slept.ok()) co_return slept;
      }
      const nanoseconds left = TimeLeft(ctx.deadline, clock_.Steady());
      if (left <= nanoseconds(0)) co_return DeadlineError(route.route->label, last_error);

      CircuitBreaker::Ticket ticket = target.breaker.TryAcquire();
      if (!ticket) {
        shortest_cool_down = std::min(shortest_cool_down, target.breaker.RemainingCoolDown());
        leave_reason = "circuit_open";
        if (!any_attempt || last_error.ok()) {
          last_error =
              absl::UnavailableError(StrCat("model '", route.route->label, "': circuit open for ",
                                            provider.name, "/", model, " after repeated failures"));
        }
        break;
      }
      absl::StatusOr<AsyncSemaphore::Permit> permit = co_await provider.semaphore.Acquire(left);
      if (!permit.ok()) {
        if (permit.status().code() != absl::StatusCode::kResourceExhausted) {
          // Out of time or cancelled while queued.
          co_return absl::Status(permit.status().code(),
                                 StrCat("model '", route.route->label, "': provider '",
                                        provider.name, "': ", ToStd(permit.status().message())));
        }
        leave_reason = "saturated";
        last_error = WithRetryAfter(absl::ResourceExhaustedError(StrCat(
                                        "model '", route.route->label, "': provider '",
                                        provider.name, "' is ", ToStd(permit.status().message()))),
                                    options_.saturated_retry_after);
        break;
      }

      nanoseconds limit = TimeLeft(ctx.deadline, clock_.Steady());
      // Whether the request's deadline, not the attempt timeout, bounds this attempt.
      bool deadline_bound = true;
      if (provider.attempt_timeout.count() > 0 && provider.attempt_timeout < limit) {
        limit = provider.attempt_timeout;
        deadline_bound = false;
      }
      const auto started = clock_.Steady();
      absl::StatusOr<T> result =
          co_await router_internal::RaceTimer<T>(call, *provider.provider, model, limit);
      const nanoseconds elapsed = clock_.Steady() - started;
      provider.latency.Observe(std::chrono::duration<double>(elapsed).count());
      any_attempt = true;
      timing.upstream += elapsed;
      ++timing.attempts;
      timing.provider = provider.name;
      timing.model = model;

      if (result.ok()) {
        Served<T> served{*std::move(result), *std::move(permit), std::move(ticket), &leg};
        co_return std::move(served);
      }
      const absl::StatusCode code = result.status().code();
      if (!router_internal::IsRetryable(code)) {
        // The upstream answered (a 4xx, say): it is alive, whatever the request's fault.
        if (code == absl::StatusCode::kCancelled) {
          ticket.Abandon();
        } else {
          ticket.Success();
        }
        co_return result.status();
      }
      if (code == absl::StatusCode::kDeadlineExceeded && deadline_bound &&
          TimeLeft(ctx.deadline, clock_.Steady()) <= nanoseconds(0)) {
        // The client's deadline was shorter than the upstream needs: no verdict
        // on the upstream, or short client deadlines would open its circuit.
        ticket.Abandon();
      } else {
        ticket.Failure();
      }
      last_error = result.status();
      leave_reason = router_internal::FallbackReason(code);
      if (TimeLeft(ctx.deadline, clock_.Steady()) <= nanoseconds(0)) {
        co_return DeadlineError(route.route->label, last_error);
      }
    }
    if (!leave_reason.empty() && i + 1 < legs.size()) {
      metrics_->fallbacks.With({provider.name, leave_reason}).Inc();
    }
  }
  if (!any_in_region) {
    co_return WithErrorCode(
        absl::FailedPreconditionError(StrCat("model '", route.route->label,
                                             "' cannot be served in region '", ctx.region,
                                             "': none of its providers is in that region")),
        "region_unavailable");
  }
  if (!any_attempt && shortest_cool_down != milliseconds::max()) {
    last_error = WithRetryAfter(std::move(last_error), shortest_cool_down);
  }
  co_return last_error;
}

asio::awaitable<absl::StatusOr<ChatResponse>> Router::Chat(const RequestContext& ctx,
                                                           ChatRequest request,
                                                           UpstreamTiming* timing) {
  UpstreamTiming local;
  UpstreamTiming& t = timing != nullptr ? *timing : local;
  absl::StatusOr<RouteRef> route = Route(request.model);
  if (!route.ok()) {
    metrics_->CountRequest("unknown", "none", route.status().code());
    co_return route.status();
  }
  auto call = [&ctx, &request](ModelProvider& p, const std::string& model) {
    request.model = model;
    return p.Chat(ctx, request);
  };
  absl::StatusOr<Served<ChatResponse>> served;
  try {
    served = co_await Execute<ChatResponse>(ctx, *route, call, t);
  } catch (const std::exception& e) {
    served = FromException(e);
  }
  const std::string& label = route->route->label;
  if (!served.ok()) {
    metrics_->CountRequest(label, t.provider.empty() ? "none" : t.provider, served.status().code());
    co_return served.status();
  }
  served->ticket.Success();
  const Leg& leg = *served->leg;
  leg.ok->Inc();
  const Usage& usage = served->value.usage;
  if (usage.input_tokens > 0) leg.input_tokens->Inc(static_cast<double>(usage.input_tokens));
  if (usage.output_tokens > 0) leg.output_tokens->Inc(static_cast<double>(usage.output_tokens));
  co_return std::move(served->value);
}

asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> Router::StreamChat(
    const RequestContext& ctx, ChatRequest request, UpstreamTiming* timing) {
  UpstreamTiming local;
  UpstreamTiming& t = timing != nullptr ? *timing : local;
  absl::StatusOr<RouteRef> route = Route(request.model);
  if (!route.ok()) {
    metrics_->CountRequest("unknown", "none", route.status().code());
    co_return route.status();
  }
  auto call = [&ctx, &request](ModelProvider& p, const std::string& model) {
    request.model = model;
    return p.StreamChat(ctx, request);
  };
  absl::StatusOr<Served<std::unique_ptr<ChatStream>>> served;
  try {
    served = co_await Execute<std::unique_ptr<ChatStream>>(ctx, *route, call, t);
  } catch (const std::exception& e) {
    served = FromException(e);
  }
  const std::string& label = route->route->label;
  if (!served.ok()) {
    metrics_->CountRequest(label, t.provider.empty() ? "none" : t.provider, served.status().code());
    co_return served.status();
  }
  // From here on the stream is the client's: errors propagate, no fallback.
  router_internal::StreamLease lease;
  lease.inner = std::move(served->value);
  lease.permit = std::move(served->permit);
  lease.ticket = std::move(served->ticket);
  lease.leg = served->leg;
  lease.label = label;
  lease.metrics = metrics_.get();
  lease.clock = &clock_;
  lease.timing = timing;
  co_return router_internal::MakeRoutedStream(std::move(lease));
}

asio::awaitable<absl::StatusOr<EmbeddingResponse>> Router::Embed(const RequestContext& ctx,
                                                                 EmbeddingRequest request,
                                                                 UpstreamTiming* timing) {
  UpstreamTiming local;
  UpstreamTiming& t = timing != nullptr ? *timing : local;
  absl::StatusOr<RouteRef> route = Route(request.model);
  if (!route.ok()) {
    metrics_->CountRequest("unknown", "none", route.status().code());
    co_return route.status();
  }
  auto call = [&ctx, &request](ModelProvider& p, const std::string& model) {
    request.model = model;
    return p.Embed(ctx, request);
  };
  absl::StatusOr<Served<EmbeddingResponse>> served;
  try {
    served = co_await Execute<EmbeddingResponse>(ctx, *route, call, t);
  } catch (const std::exception& e) {
    served = FromException(e);
  }
  const std::string& label = route->route->label;
  if (!served.ok()) {
    metrics_->CountRequest(label, t.provider.empty() ? "none" : t.provider, served.status().code());
    co_return served.status();
  }
  served->ticket.Success();
  const Leg& leg = *served->leg;
  leg.ok->Inc();
  const int64_t tokens = served->value.usage.input_tokens;
  if (tokens > 0) leg.input_tokens->Inc(static_cast<double>(tokens));
  co_return std::move(served->value);
}

asio::awaitable<absl::StatusOr<ChatResponse>> Router::Chat(const RequestContext& ctx,
                                                           const ChatRequest& request) {
  ChatRequest copy = request;
  co_return co_await Chat(ctx, std::move(copy), nullptr);
}

asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> Router::StreamChat(
    const RequestContext& ctx, const ChatRequest& request) {
  ChatRequest copy = request;
  co_return co_await StreamChat(ctx, std::move(copy), nullptr);
}

asio::awaitable<absl::StatusOr<EmbeddingResponse>> Router::Embed(const RequestContext& ctx,
                                                                 const EmbeddingRequest& request) {
  EmbeddingRequest copy = request;
  co_return co_await Embed(ctx, std::move(copy), nullptr);
}

}  // namespace basalt::models
