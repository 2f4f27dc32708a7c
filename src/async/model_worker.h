// ModelWorker: runs genai jobs on one io_context. For each leased job it calls
// the model through the gateway's router (which retries within one call),
// renews the lease while the call runs, and records the outcome with its event
// in one write: completed, retried later with backoff (a retryable failure
// with attempts left), or failed and dead-lettered. A cancel (API, or the lease
// lost to another process's cancel) aborts the call; on drain, a call that does
// not finish in time is aborted and its job released for another worker.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <random>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "async/async_metrics.h"
#include "async/cancel_registry.h"
#include "async/lease_loop.h"
#include "async/model_limiter.h"
#include "async/records.h"
#include "core/clock.h"
#include "core/config.h"
#include "models/provider.h"

namespace basalt::async {

class ModelWorker {
 public:
  ModelWorker(bus::Bus& bus, models::ModelProvider& models, boost::asio::io_context& io,
              const AsyncConfig& config, int slots, CancelRegistry& cancels,
              ModelLimiter& limiter, AsyncMetrics& metrics, const Clock& clock);
  void Start() { loop_->Start(); }
  void Stop() { loop_->Stop(); }
  bool Busy() const { return loop_->Busy(); }

 private:
  boost::asio::awaitable<void> Run(bus::Job job, const std::atomic<bool>& draining);
  boost::asio::awaitable<absl::StatusOr<std::string>> CallModel(const bus::Job& job,
                                                               const nlohmann::json& payload);
  boost::asio::awaitable<void> KeepLease(const bus::Job& job);
  boost::asio::awaitable<void> Record(bus::Job job, const nlohmann::json& payload,
                                      absl::StatusOr<std::string> outcome);
  int64_t NowMs() const { return UnixMs(clock_.Now()); }

  bus::Bus& bus_;
  models::ModelProvider& models_;
  boost::asio::io_context& io_;
  const AsyncConfig config_;
  CancelRegistry& cancels_;
  ModelLimiter& limiter_;
  AsyncMetrics& metrics_;
  const Clock& clock_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::unique_ptr<LeaseLoop> loop_;
};

}  // namespace basalt::async
