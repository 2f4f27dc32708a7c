// AsyncService: the async pattern's operations behind the HTTP routes
// (docs/ASYNC.md): submit (one, or a batch of records), read, list, cancel,
// and the admin views. Validation errors are kInvalidArgument naming the
// field; a submission is acknowledged only after its job and its "received"
// event are durable.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "async/async_metrics.h"
#include "async/cancel_registry.h"
#include "async/dispatcher.h"
#include "async/records.h"
#include "bus/bus.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/blocking_pool.h"
#include "store/async_store.h"

namespace basalt::async {

enum class BodyFormat { kOpenAi, kAnthropic };

struct SubmitOptions {
  BodyFormat format = BodyFormat::kOpenAi;
  std::string model;          // required
  nlohmann::json body;        // the chat body (format's shape), without our fields
  std::string client_token;   // idempotency key; empty: none
  int priority = 0;
  std::string callback_url, callback_secret;
  nlohmann::json metadata;    // object or null
  std::string s3_uri;         // Bedrock StartAsyncInvoke's output location
};

struct Submitted {
  bus::Job job;
  bool created = true;
  int64_t estimated_completion_seconds = 1;
};

class AsyncService {
 public:
  // `pool` runs the CPU-heavy renders (a batch's output) off the io threads.
  AsyncService(bus::Bus& bus, AsyncStore& store, BlockingPool& pool, CancelRegistry& cancels, Throughput& throughput,
               AsyncMetrics& metrics, const AsyncConfig& config, const Clock& clock);

  // Parses POST /v1/async/invocations (OpenAI chat body plus our fields).
  absl::StatusOr<SubmitOptions> ParseInvocation(nlohmann::json body) const;
  // Parses POST /async-invoke (Bedrock StartAsyncInvoke).
  absl::StatusOr<SubmitOptions> ParseStartAsyncInvoke(const nlohmann::json& body) const;

  // kAlreadyExists (code idempotency_conflict) when the client token was used
  // with a different request.
  boost::asio::awaitable<absl::StatusOr<Submitted>> Submit(std::string tenant,
                                                           SubmitOptions options);
  // A batch of JSONL records {recordId, modelInput}: all or nothing.
  boost::asio::awaitable<absl::StatusOr<nlohmann::json>> SubmitBatch(std::string tenant,
                                                                     std::string model,
                                                                     std::string name,
                                                                     std::string_view jsonl);
  boost::asio::awaitable<absl::StatusOr<nlohmann::json>> GetBatch(std::string tenant,
                                                                  std::string batch_id);
  // JSONL of the batch's finished records, in input order.
  boost::asio::awaitable<absl::StatusOr<std::string>> BatchOutput(std::string tenant,
                                                                 std::string batch_id);
  boost::asio::awaitable<absl::StatusOr<nlohmann::json>> ListBatches(std::string tenant,
                                                                    std::string after, int limit);

  boost::asio::awaitable<absl::StatusOr<bus::Job>> Get(std::string tenant, std::string id);
  boost::asio::awaitable<absl::StatusOr<std::vector<bus::Job>>> List(bus::JobFilter filter);
  // kFailedPrecondition (code invalid_state) when the invocation has ended.
  boost::asio::awaitable<absl::StatusOr<bus::Job>> Cancel(std::string tenant, std::string id);

  boost::asio::awaitable<absl::StatusOr<nlohmann::json>> QueueStats(std::string tenant);
  boost::asio::awaitable<absl::StatusOr<std::vector<bus::Job>>> Redrive(
      std::string tenant, std::string queue, std::vector<std::string> ids, int limit);

  // Publishes custom events (POST /v1/events).
  boost::asio::awaitable<absl::StatusOr<nlohmann::json>> PutEvents(std::string tenant,
                                                                  const nlohmann::json& body);

  bus::Bus& bus() { return bus_; }
  // Refreshes the queue-depth gauges (called when /metrics is scraped).
  void RefreshGauges(const std::vector<bus::QueueStats>& stats);

 private:
  // Moves options.body into the payload.
  bus::NewJob MakeJob(const std::string& tenant, SubmitOptions& options,
                      nlohmann::json& payload) const;
  int64_t Estimate() const;
  int64_t NowMs() const { return UnixMs(clock_.Now()); }

  bus::Bus& bus_;
  AsyncStore& store_;
  BlockingPool& pool_;
  CancelRegistry& cancels_;
  Throughput& throughput_;
  AsyncMetrics& metrics_;
  const AsyncConfig config_;
  const Clock& clock_;
  std::atomic<int64_t> ready_depth_{0};  // from the last stats read
};

}  // namespace basalt::async
