#include "async/webhook_worker.h"

#include "async/records.h"
#include "core/log.h"
#include "core/strings.h"

namespace basalt::async {

namespace asio = boost::asio;
using nlohmann::json;

net::HttpHeaders WebhookHeaders(std::string_view secret, std::string_view body,
                                std::string_view event_id, std::string_view event_type,
                                int attempt, int64_t unix_seconds) {
  net::HttpHeaders headers = {
      {"Content-Type", "application/json"},
      {"User-Agent", "basalt-webhooks/1"},
      {"X-Basalt-Event-Id", std::string(event_id)},
      {"X-Basalt-Event-Type", std::string(event_type)},
      {"X-Basalt-Delivery-Attempt", std::to_string(attempt)},
      {"X-Basalt-Timestamp", std::to_string(unix_seconds)},
  };
  if (!secret.empty()) {
    // The timestamp is signed with the body so a captured delivery cannot be
    // replayed later with a fresh timestamp.
    headers.emplace_back("X-Basalt-Signature",
                         StrCat("sha256=", HmacSha256Hex(secret, StrCat(unix_seconds, ".", body))));
  }
  return headers;
}

WebhookWorker::WebhookWorker(bus::Bus& bus, const net::ClientSet& clients, asio::io_context& io,
                             const AsyncConfig& config, int slots, AsyncMetrics& metrics,
                             const Clock& clock)
    : bus_(bus), clients_(clients), config_(config), metrics_(metrics), clock_(clock) {
  LeaseLoopOptions options;
  options.queue = std::string(kWebhookQueue);
  options.slots = slots;
  // Longer than one attempt can take, so a slow receiver does not cause a
  // duplicate delivery through lease expiry.
  options.visibility = std::chrono::milliseconds(config.webhook_timeout_ms * 2 + 5000);
  options.poll_interval = std::chrono::milliseconds(config.poll_interval_ms);
  loop_ = std::make_unique<LeaseLoop>(bus, io, std::move(options),
                                      [this](bus::Job job, const std::atomic<bool>&) {
                                        return Deliver(std::move(job));
                                      });
}

asio::awaitable<void> WebhookWorker::Deliver(bus::Job job) {
  const json payload = PayloadOf(job);
  const int64_t now_ms = UnixMs(clock_.Now());
  const std::string body = payload.value("body", "");
  net::ClientRequest request;
  request.method = "POST";
  request.url = payload.value("url", "");
  request.headers = WebhookHeaders(payload.value("secret", ""), body, payload.value("event_id", ""),
                                   payload.value("event_type", ""), job.attempts, now_ms / 1000);
  request.body = body;
  request.deadline = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(config_.webhook_timeout_ms);
  std::string failure;
  auto client = co_await clients_.Current();
  if (!client.ok()) {
    failure = std::string(client.status().message());
  } else {
    auto response = co_await (*client)->Send(std::move(request));
    if (!response.ok()) {
      failure = std::string(response.status().message());
    } else if (response->status < 200 || response->status > 299) {
      failure = StrCat("receiver answered HTTP ", response->status);
    }
  }
  if (failure.empty()) {
    std::vector<bus::Event> no_events;
    auto done = co_await bus_.Complete(job.id, job.lease_token, "{}", std::move(no_events));
    metrics_.webhooks.With({"delivered"}).Inc();
    if (!done.ok()) log::Warn("recording a delivery failed", {{"job", job.id}});
    co_return;
  }
  const int64_t max_age_ms = payload.value("max_age_ms", config_.webhook_max_age_seconds * 1000);
  const auto delay = Backoff(job.attempts, config_.webhook_backoff_base_ms,
                             config_.webhook_backoff_cap_ms, rng_);
  const bool retry = job.attempts < job.max_attempts &&
                     now_ms + delay.count() - job.created_ms < max_age_ms;
  std::optional<std::chrono::milliseconds> retry_after;
  if (retry) retry_after = delay;
  const std::string error = ErrorJson("delivery_failed", failure);
  std::vector<bus::Event> no_events;
  auto failed = co_await bus_.Fail(job.id, job.lease_token, error, retry_after, std::move(no_events));
  metrics_.webhooks.With({retry ? "retry" : "dead"}).Inc();
  if (!failed.ok()) log::Warn("recording a delivery failure failed", {{"job", job.id}});
  if (!retry) {
    log::Warn("webhook dead-lettered",
              {{"job", job.id}, {"url", payload.value("url", "")}, {"error", failure}});
  }
}

}  // namespace basalt::async
