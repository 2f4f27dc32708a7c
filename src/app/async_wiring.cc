#include "app/async_wiring.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>

#include "api/async_api.h"
#include "core/log.h"
#include "tenancy/encrypting_bus.h"

namespace basalt::app {

namespace asio = boost::asio;

AsyncRuntime::~AsyncRuntime() {
  // Workers and the dispatcher refer to the bus: they go first.
  model_workers.clear();
  webhook_workers.clear();
  dispatcher.reset();
}

namespace {

// Spreads `total` slots over `n` threads.
int SlotsFor(int64_t total, size_t n, size_t i) {
  return static_cast<int>(total / static_cast<int64_t>(n) +
                          (static_cast<int64_t>(i) < total % static_cast<int64_t>(n) ? 1 : 0));
}

// Refreshes the queue gauges and the depth used for estimates every 5 s.
asio::awaitable<void> RefreshStats(AsyncRuntime* rt, net::Server* server) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (server->accepting()) {
    auto stats = co_await rt->bus->Stats("");
    if (stats.ok()) rt->service->RefreshGauges(*stats);
    timer.expires_after(std::chrono::seconds(5));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<AsyncRuntime>> BuildAsync(
    const Config& config, AsyncRole role, net::Server& server, net::Router& routes,
    metrics::Registry& registry, BlockingPool& blocking, AsyncStore& store,
    models::ModelProvider& models, const tenancy::FieldCipher* cipher) {
  auto rt = std::make_unique<AsyncRuntime>();
  bus::SqliteBusOptions bus_options;
  bus_options.busy_timeout_ms = static_cast<int>(config.store.busy_timeout_ms);
  bus_options.max_pending_writes = static_cast<size_t>(config.async.max_pending_writes);
  const std::string path = (std::filesystem::path(config.data_dir) / "bus.db").string();
  auto bus = bus::SqliteBus::Open(path, bus_options, blocking, RealClock::Instance());
  if (!bus.ok()) return bus.status();
  rt->embedded = *std::move(bus);
  if (cipher != nullptr) rt->sealed = std::make_unique<tenancy::EncryptingBus>(*rt->embedded, *cipher);
  rt->bus = rt->sealed ? rt->sealed.get() : rt->embedded.get();
  rt->metrics = std::make_unique<async::AsyncMetrics>(registry);
  rt->hub = std::make_unique<async::EventHub>();
  rt->cancels = std::make_unique<async::CancelRegistry>();
  rt->limiter = std::make_unique<async::ModelLimiter>(config.async.model_concurrency);
  rt->throughput = std::make_unique<async::Throughput>();
  rt->rules = std::make_unique<async::RulesCatalog>(store, config.async);
  rt->service = std::make_unique<async::AsyncService>(*rt->bus, store, blocking, *rt->cancels,
                                                      *rt->throughput, *rt->metrics, config.async,
                                                      RealClock::Instance());
  std::vector<asio::io_context*> contexts;
  for (size_t i = 0; i < server.io_threads(); ++i) contexts.push_back(&server.io_context(i));
  auto clients = net::ClientSet::Create(contexts, config.http_client);
  if (!clients.ok()) return clients.status();
  rt->webhook_clients = *std::move(clients);

  const size_t n = contexts.size();
  for (size_t i = 0; i < n; ++i) {
    const int model_slots = SlotsFor(config.async.workers, n, i);
    if (model_slots > 0) {
      rt->model_workers.push_back(std::make_unique<async::ModelWorker>(
          *rt->bus, models, *contexts[i], config.async, model_slots, *rt->cancels, *rt->limiter, *rt->metrics,
          RealClock::Instance()));
    }
    const int hook_slots = SlotsFor(config.async.webhook_workers, n, i);
    if (hook_slots > 0) {
      rt->webhook_workers.push_back(std::make_unique<async::WebhookWorker>(
          *rt->bus, *rt->webhook_clients, *contexts[i], config.async, hook_slots, *rt->metrics,
          RealClock::Instance()));
    }
  }
  if (role == AsyncRole::kServe) {
    rt->dispatcher = std::make_unique<async::Dispatcher>(*rt->bus, *rt->rules, *rt->hub,
                                                         *contexts[0], config.async, *rt->metrics,
                                                         *rt->throughput, RealClock::Instance());
    api::AsyncApiDeps deps{rt->service.get(), rt->rules.get(), rt->hub.get(), &config.async};
    api::AddAsyncRoutes(routes, deps);
    api::AddRulesRoutes(routes, deps);
    api::AddBedrockAsyncRoutes(routes, deps);
  }

  // Start everything once the loops run.
  AsyncRuntime* raw = rt.get();
  asio::post(*contexts[0], [raw, &server] {
    if (raw->dispatcher) raw->dispatcher->Start();
    for (auto& w : raw->model_workers) w->Start();
    for (auto& w : raw->webhook_workers) w->Start();
    asio::co_spawn(server.io_context(0), RefreshStats(raw, &server), asio::detached);
  });

  // Drain: lease nothing new; give running calls half the grace period, then
  // abort them so their jobs are released (and run again elsewhere).
  const auto abort_after = std::chrono::milliseconds(config.server.shutdown_grace_ms / 2);
  server.AddDrainHook(
      [raw, &server, abort_after] {
        if (raw->dispatcher) raw->dispatcher->Stop();
        for (auto& w : raw->model_workers) w->Stop();
        for (auto& w : raw->webhook_workers) w->Stop();
        asio::post(server.io_context(0), [raw, &server, abort_after] {
          auto timer = std::make_shared<asio::steady_timer>(server.io_context(0), abort_after);
          timer->async_wait([raw, timer](boost::system::error_code) {
            if (raw->cancels->Running() > 0) {
              log::Info("aborting async jobs still running; they will be released",
                        {{"running", static_cast<int64_t>(raw->cancels->Running())}});
            }
            raw->cancels->CancelAll();
          });
        });
      },
      [raw] {
        for (auto& w : raw->model_workers) {
          if (w->Busy()) return true;
        }
        for (auto& w : raw->webhook_workers) {
          if (w->Busy()) return true;
        }
        return false;
      });
  return rt;
}

}  // namespace basalt::app
