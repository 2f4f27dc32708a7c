#include "async/model_worker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/log.h"
#include "core/status.h"
#include "core/strings.h"
#include "models/formats/anthropic_format.h"
#include "models/formats/openai_format.h"

namespace basalt::async {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// Failures worth another attempt of the whole job; a request the model rejects
// as invalid would fail the same way again.
bool RetryableJobFailure(const absl::Status& status) {
  // A budget refusal stays refused until the month ends: retrying only spins.
  if (ErrorCodeOf(status) == "budget_exceeded") return false;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

std::string JobErrorCode(const absl::Status& status) {
  // A code the failure names itself (budget_exceeded, model_not_allowed, ...).
  if (std::string code = ErrorCodeOf(status); !code.empty()) return code;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument: return "invalid_request";
    case absl::StatusCode::kNotFound: return "model_not_found";
    case absl::StatusCode::kDeadlineExceeded: return "timeout";
    case absl::StatusCode::kResourceExhausted: return "rate_limited";
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated: return "upstream_auth";
    default: return "upstream_error";
  }
}

}  // namespace

ModelWorker::ModelWorker(bus::Bus& bus, models::ModelProvider& models, asio::io_context& io,
                         const AsyncConfig& config, int slots, CancelRegistry& cancels,
                         ModelLimiter& limiter, AsyncMetrics& metrics, const Clock& clock)
    : bus_(bus),
      models_(models),
      io_(io),
      config_(config),
      cancels_(cancels),
      limiter_(limiter),
      metrics_(metrics),
      clock_(clock) {
  LeaseLoopOptions options;
  options.queue = std::string(kGenaiQueue);
  options.slots = slots;
  options.visibility = std::chrono::milliseconds(config.visibility_timeout_ms);
  options.poll_interval = std::chrono::milliseconds(config.poll_interval_ms);
  options.on_lease = [this](const bus::Job& job) {
    return std::vector<bus::Event>{RequestEvent("processing", job, PayloadOf(job), NowMs())};
  };
  options.on_dead = [this](const bus::Job& job) {
    return std::vector<bus::Event>{RequestEvent("failed", job, PayloadOf(job), NowMs())};
  };
  loop_ = std::make_unique<LeaseLoop>(
      bus, io, std::move(options),
      [this](bus::Job job, const std::atomic<bool>& draining) { return Run(std::move(job), draining); });
}

asio::awaitable<absl::StatusOr<std::string>> ModelWorker::CallModel(const bus::Job& job,
                                                                   const json& payload) {
  const std::string format = payload.value("format", "openai");
  const json empty = json::object();
  const json& body = payload.contains("body") ? payload["body"] : empty;
  absl::StatusOr<models::ChatRequest> request =
      format == "anthropic"
          ? models::anthropic::ParseChatRequest(body, {.require_model = false})
          : models::openai::ParseChatRequest(body);
  if (!request.ok()) co_return request.status();
  request->model = payload.value("model", request->model);
  request->stream = false;
  RequestContext ctx;
  ctx.request_id = job.id;
  ctx.tenant = job.tenant;
  ctx.principal = "async-worker";
  ctx.deadline = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(config_.job_timeout_ms);
  auto response = co_await models_.Chat(ctx, *request);
  if (!response.ok()) co_return response.status();
  if (format == "anthropic") co_return models::anthropic::RenderChatResponse(*response).dump();
  co_return models::openai::RenderChatResponse(*response, NowMs() / 1000).dump();
}

asio::awaitable<void> ModelWorker::KeepLease(const bus::Job& job) {
  const auto every = std::chrono::milliseconds(std::max<int64_t>(config_.visibility_timeout_ms / 3, 10));
  asio::steady_timer timer(io_);
  for (;;) {
    timer.expires_after(every);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    absl::Status s = co_await bus_.Extend(job.id, job.lease_token,
                                          std::chrono::milliseconds(config_.visibility_timeout_ms));
    if (s.code() == absl::StatusCode::kFailedPrecondition) co_return;  // cancelled or expired
    if (!s.ok()) log::Warn("lease renewal failed", {{"job", job.id}, {"error", std::string(s.message())}});
  }
}

asio::awaitable<void> ModelWorker::Run(bus::Job job, const std::atomic<bool>& draining) {
  const json payload = PayloadOf(job);
  const std::string model = payload.value("model", "");
  metrics_.time_in_queue.With({kGenaiQueue})
      .Observe(std::max<int64_t>(0, job.started_ms - job.created_ms) / 1000.0);
  co_await limiter_.Acquire(model);
  auto interrupt = std::make_shared<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
  cancels_.Add(job.id, interrupt);
  using namespace asio::experimental::awaitable_operators;
  std::variant<absl::StatusOr<std::string>, std::monostate, std::tuple<boost::system::error_code>>
      outcome;
  if (draining.load()) {
    outcome.emplace<2>();
  } else {
    outcome = co_await (CallModel(job, payload) || KeepLease(job) ||
                        interrupt->async_wait(asio::as_tuple(asio::use_awaitable)));
  }
  cancels_.Remove(job.id);
  limiter_.Release(model);
  switch (outcome.index()) {
    case 0:
      co_await Record(std::move(job), payload, std::get<0>(std::move(outcome)));
      break;
    case 1:
      log::Info("job lease lost (cancelled or expired); result dropped", {{"job", job.id}});
      break;
    default:
      if (draining.load()) {
        absl::Status s = co_await bus_.Release(job.id, job.lease_token);
        if (!s.ok()) log::Warn("release on drain failed", {{"job", job.id}, {"error", std::string(s.message())}});
      }
      // Otherwise cancelled through the API, which already recorded it.
      break;
  }
}

asio::awaitable<void> ModelWorker::Record(bus::Job job, const json& payload,
                                          absl::StatusOr<std::string> outcome) {
  const int64_t now = NowMs();
  const double e2e = std::max<int64_t>(0, now - job.created_ms) / 1000.0;
  if (outcome.ok()) {
    job.state = bus::JobState::kSucceeded;
    job.finished_ms = now;
    std::vector<bus::Event> events = {RequestEvent("completed", job, payload, now)};
    auto done = co_await bus_.Complete(job.id, job.lease_token, *std::move(outcome), std::move(events));
    if (done.ok()) {
      metrics_.finished.With({kGenaiQueue, "completed"}).Inc();
      metrics_.end_to_end.With({kGenaiQueue, "completed"}).Observe(e2e);
    } else if (done.status().code() != absl::StatusCode::kFailedPrecondition) {
      log::Warn("recording a completion failed", {{"job", job.id}, {"error", std::string(done.status().message())}});
    }
    co_return;
  }
  const absl::Status& error = outcome.status();
  job.error = ErrorJson(JobErrorCode(error), ToStd(error.message()));
  const bool retry = RetryableJobFailure(error) && job.attempts < job.max_attempts;
  std::optional<std::chrono::milliseconds> delay;
  std::vector<bus::Event> events;
  if (retry) {
    delay = Backoff(job.attempts, config_.retry_backoff_base_ms, config_.retry_backoff_cap_ms, rng_);
  } else {
    job.state = bus::JobState::kDead;
    job.finished_ms = now;
    events.push_back(RequestEvent("failed", job, payload, now));
  }
  auto failed = co_await bus_.Fail(job.id, job.lease_token, job.error, delay, std::move(events));
  if (failed.ok()) {
    metrics_.finished.With({kGenaiQueue, retry ? "retry" : "failed"}).Inc();
    if (!retry) metrics_.end_to_end.With({kGenaiQueue, "failed"}).Observe(e2e);
  } else if (failed.status().code() != absl::StatusCode::kFailedPrecondition) {
    log::Warn("recording a failure failed", {{"job", job.id}, {"error", std::string(failed.status().message())}});
  }
}

}  // namespace basalt::async
