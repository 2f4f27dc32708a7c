// Builds the async pattern from configuration: the embedded bus on
// <data_dir>/bus.db, the service, rules, dispatcher, model and webhook workers
// (their slots spread over the io threads), the HTTP routes, the drain on
// shutdown and the queue gauges.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "async/async_metrics.h"
#include "async/cancel_registry.h"
#include "async/dispatcher.h"
#include "async/event_hub.h"
#include "async/model_worker.h"
#include "async/rules.h"
#include "async/service.h"
#include "async/webhook_worker.h"
#include "bus/embedded/sqlite_bus.h"
#include "core/blocking_pool.h"
#include "core/config.h"
#include "models/provider.h"
#include "net/client_set.h"
#include "net/router.h"
#include "net/server.h"
#include "store/async_store.h"
#include "tenancy/field_cipher.h"

namespace basalt::app {

enum class AsyncRole {
  kServe,   // API, dispatcher and workers
  kWorker,  // workers only (`basalt worker`)
};

struct AsyncRuntime {
  std::unique_ptr<bus::SqliteBus> embedded;  // the adapter on <data_dir>/bus.db
  std::unique_ptr<bus::Bus> sealed;          // EncryptingBus over it, when encryption is on
  bus::Bus* bus = nullptr;                   // what everything uses: sealed, else embedded
  std::unique_ptr<async::AsyncMetrics> metrics;
  std::unique_ptr<async::EventHub> hub;
  std::unique_ptr<async::CancelRegistry> cancels;
  std::unique_ptr<async::ModelLimiter> limiter;
  std::unique_ptr<async::Throughput> throughput;
  std::unique_ptr<async::RulesCatalog> rules;
  std::unique_ptr<async::AsyncService> service;
  std::unique_ptr<async::Dispatcher> dispatcher;
  std::vector<std::unique_ptr<async::ModelWorker>> model_workers;
  std::vector<std::unique_ptr<async::WebhookWorker>> webhook_workers;
  std::unique_ptr<net::ClientSet> webhook_clients;

  ~AsyncRuntime();
};

// Call after the Server is constructed and before it runs; starts nothing
// until the server's loops run.
absl::StatusOr<std::unique_ptr<AsyncRuntime>> BuildAsync(
    const Config& config, AsyncRole role, net::Server& server, net::Router& routes,
    metrics::Registry& registry, BlockingPool& blocking, AsyncStore& store,
    models::ModelProvider& models, const tenancy::FieldCipher* cipher);

}  // namespace basalt::app
