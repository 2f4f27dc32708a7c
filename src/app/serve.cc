#include "app/serve.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "core/strings.h"
#include "app/auth.h"
#include "app/tenancy_wiring.h"
#include "app/gateway_wiring.h"
#include "app/system_routes.h"
#ifdef BASALT_HAS_RAG
#include "app/rag_wiring.h"
#endif
#include "core/blocking_pool.h"
#include "core/log.h"
#include "core/metrics.h"
#include "net/router.h"
#include "net/server.h"
#include "store/async_store.h"
#include "store/sqlite/sqlite_store.h"

namespace basalt::app {

namespace asio = boost::asio;

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

namespace {

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Waits for SIGTERM/SIGINT on a dedicated thread (the signals are blocked in
// every other thread) and starts a graceful shutdown; a second signal exits at once.
class SignalWatcher {
 public:
  explicit SignalWatcher(net::Server& server) {
    set_ = ShutdownSignals();
    thread_ = std::thread([this, &server] {
      int signals_seen = 0;
      const timespec tick{0, 200'000'000};
      while (!done_.load()) {
        const int sig = sigtimedwait(&set_, nullptr, &tick);
        if (sig <= 0) continue;
        if (++signals_seen > 1) {
          log::Warn("second signal: exiting now", {{"signal", sig}});
          log::Shutdown();
          std::_Exit(1);
        }
        log::Info("signal received", {{"signal", sig}});
        server.Shutdown();
      }
    });
  }
  ~SignalWatcher() {
    done_ = true;
    thread_.join();
  }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

int RunServe(const ConfigSources& sources, AsyncRole role) {
  // Block the shutdown signals before any thread starts, so every thread
  // inherits the mask and only SignalWatcher receives them.
  const sigset_t shutdown_signals = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  auto loaded = LoadConfig(sources);
  if (!loaded.ok()) {
    std::cerr << "basalt: configuration error: " << loaded.status().message() << "\n";
    return 2;
  }
  const Config config = *std::move(loaded);
  if (!IsLoopback(config.server.host) && !config.AuthConfigured()) {
    std::cerr << "basalt: refusing to listen on " << config.server.host
              << ": no authentication is configured, so anyone who can reach that address "
                 "could use this server with the dev tenant's rights. Configure auth.api_keys, "
                 "or listen on 127.0.0.1.\n";
    return 2;
  }
  log::Level level = log::Level::kInfo;
  log::ParseLevel(config.log_level, &level);
  log::Init(level);

  std::error_code fs_error;
  std::filesystem::create_directories(config.data_dir, fs_error);
  if (fs_error) {
    std::cerr << "basalt: data_dir: cannot create " << config.data_dir << ": "
              << fs_error.message() << "\n";
    return 2;
  }

  metrics::Registry registry;
  BlockingPool blocking(static_cast<size_t>(config.store.blocking_threads),
                        static_cast<size_t>(config.store.max_pending));
  SqliteOptions store_options;
  store_options.busy_timeout_ms = config.store.busy_timeout_ms;
  store_options.pool_size = static_cast<int>(config.store.blocking_threads);
  const std::string db_path = (std::filesystem::path(config.data_dir) / "basalt.db").string();
  auto store = SqliteStore::Open(db_path, store_options);
  if (!store.ok()) {
    std::cerr << "basalt: store: " << store.status().message() << "\n";
    return 2;
  }
  auto tenancy_runtime = BuildTenancy(config, **store, registry);
  if (!tenancy_runtime.ok()) {
    std::cerr << "basalt: tenancy: " << tenancy_runtime.status().message() << "\n";
    return 2;
  }
  Tenancy& tenancy = **tenancy_runtime;
  // Services store records through the tenancy's store (sealed when
  // encryption is on); tenants and key hashes go to the adapter as they are.
  AsyncStore async_store(*tenancy.records, blocking);

  net::Router router;
  net::Server* server_ptr = nullptr;
  AddSystemRoutes(router, SystemRoutesDeps{
      &registry,
      [&async_store, &server_ptr]() -> asio::awaitable<absl::Status> {
        if (server_ptr != nullptr && !server_ptr->accepting()) {
          co_return absl::UnavailableError("shutting down");
        }
        co_return co_await async_store.Ping();
      }});

  auto& pool_gauge = registry.Gauge("basalt_blocking_pool_pending",
                                    "Blocking-pool calls queued or running");
  registry.OnCollect([&] { pool_gauge.With({}).Set(static_cast<double>(blocking.Pending())); });
  registry.Gauge("basalt_build_info", "Build information", {"version"}).With({BASALT_VERSION}).Set(1);

  net::Server server(config.server, router, registry, tenancy.authenticator.get());
  server_ptr = &server;
  // A worker serves only the system routes; the gateway's routes go to a
  // router nobody listens on.
  net::Router unused_routes;
  net::Router& api_routes = role == AsyncRole::kServe ? router : unused_routes;
  auto gateway = BuildGateway(config, server, registry);
  if (!gateway.ok()) {
    std::cerr << "basalt: model gateway: " << gateway.status().message() << "\n";
    return 2;
  }
  if (absl::Status s = AttachGateway(tenancy, config, *gateway->router, *gateway->clients, registry);
      !s.ok()) {
    std::cerr << "basalt: tenancy: " << s.message() << "\n";
    return 2;
  }
  AddGatewayRoutes(*gateway, *tenancy.gate, api_routes, registry);
  // Every model call, async workers' included, goes through the gate.
  auto async_runtime = BuildAsync(config, role, server, api_routes, registry, blocking,
                                  async_store, *tenancy.gate, tenancy.cipher.get());
  if (!async_runtime.ok()) {
    std::cerr << "basalt: async: " << async_runtime.status().message() << "\n";
    return 2;
  }
  AddTenancyRoutes(tenancy, *(*async_runtime)->bus, blocking, api_routes, server.io_context(0));
#ifdef BASALT_HAS_RAG
  // Knowledge-base indexes live in this process's memory over files in
  // data_dir, so only `basalt serve` runs RAG: a `basalt worker` process
  // neither serves nor ingests knowledge bases (their jobs are on the rag
  // queue, which it does not lease), and never opens the index files.
  std::unique_ptr<RagRuntime> rag_runtime;
  if (role == AsyncRole::kServe) {
    auto built = BuildRag(config, server, api_routes, registry, blocking, async_store,
                          *(*async_runtime)->bus, *tenancy.gate, tenancy.cipher.get());
    if (!built.ok()) {
      std::cerr << "basalt: rag: " << built.status().message() << "\n";
      return 2;
    }
    rag_runtime = *std::move(built);
    if (tenancy.admin != nullptr) {
      rag::KnowledgeBaseService* kbs = rag_runtime->service.get();
      tenancy.admin->AddEraser(
          [kbs](std::string tenant) { return kbs->AdminDeleteTenant(std::move(tenant)); });
    }
  }
#endif
  if (absl::Status s = server.Listen(); !s.ok()) {
    std::cerr << "basalt: " << s.message() << "\n";
    return 2;
  }
  const std::string url = StrCat("http://", config.server.host, ":", server.port());
  std::printf("basalt listening on %s\n", url.c_str());
  std::fflush(stdout);
  log::Info("listening", {{"url", url}, {"io_threads", static_cast<int64_t>(server.io_threads())},
                          {"data_dir", config.data_dir},
                          {"role", role == AsyncRole::kWorker ? "worker" : "serve"},
                          {"schema_version", (*store)->SchemaVersion()}});
  {
    SignalWatcher signals(server);
    server.Run();
  }
  // Pool work may still resume coroutines on the server's io_contexts: finish it
  // before the server (declared later) is destroyed.
#ifdef BASALT_HAS_RAG
  rag_runtime.reset();
#endif
  blocking.Join();
  async_runtime->reset();
  log::Info("stopped");
  log::Shutdown();
  return 0;
}

}  // namespace basalt::app
