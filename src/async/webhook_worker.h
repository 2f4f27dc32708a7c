// WebhookWorker: delivers the jobs of the `webhooks` queue on one io_context.
// A delivery's payload is {"url", "secret", "body" (the event as JSON text),
// "event_id", "event_type", "max_age_ms"}; it is POSTed with the signature
// headers of docs/ASYNC.md. A 2xx answer completes it; anything else is retried
// with exponential backoff and full jitter until its attempts or its age run
// out, and then it is dead-lettered (GET /v1/dlq?queue=webhooks, redrive).
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <random>

#include "async/async_metrics.h"
#include "async/lease_loop.h"
#include "core/clock.h"
#include "core/config.h"
#include "net/client_set.h"
#include "net/http_client.h"

namespace basalt::async {

// The headers a delivery carries; exposed for tests and receivers' docs.
net::HttpHeaders WebhookHeaders(std::string_view secret, std::string_view body,
                                std::string_view event_id, std::string_view event_type,
                                int attempt, int64_t unix_seconds);

class WebhookWorker {
 public:
  WebhookWorker(bus::Bus& bus, const net::ClientSet& clients, boost::asio::io_context& io,
                const AsyncConfig& config, int slots, AsyncMetrics& metrics, const Clock& clock);
  void Start() { loop_->Start(); }
  void Stop() { loop_->Stop(); }
  bool Busy() const { return loop_->Busy(); }

 private:
  boost::asio::awaitable<void> Deliver(bus::Job job);

  bus::Bus& bus_;
  const net::ClientSet& clients_;
  const AsyncConfig config_;
  AsyncMetrics& metrics_;
  const Clock& clock_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::unique_ptr<LeaseLoop> loop_;
};

}  // namespace basalt::async
