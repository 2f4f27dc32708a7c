// Builds the multi-tenancy pattern from configuration (docs/TENANCY.md):
//   - the key manager (<data_dir>/keys.db, the KEK from tenancy.kek or
//     tenancy.kek_file) and the EncryptingStore over the record store;
//   - the audit log (<data_dir>/audit.db, checkpoints signed with
//     tenancy.audit_key_file);
//   - usage (<data_dir>/usage.db), rate and concurrency limits, the budget
//     ledger seeded with this month's spend, the price table (models.prices);
//   - the Directory (tenants from `tenants:` and the store, managed keys);
//   - the authenticator (managed keys, config keys, SigV4, JWT issuers);
//   - once the Router exists, the ModelGate every model call goes through;
//   - once the bus exists, the TenantAdmin and the admin routes.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "app/auth.h"
#include "bus/bus.h"
#include "core/blocking_pool.h"
#include "core/config.h"
#include "core/metrics.h"
#include "models/router/router.h"
#include "net/client_set.h"
#include "net/router.h"
#include "store/store.h"
#include "tenancy/audit/audit_log.h"
#include "tenancy/audit_trail.h"
#include "tenancy/crypto/key_manager.h"
#include "tenancy/directory.h"
#include "tenancy/encrypting_store.h"
#include "tenancy/field_cipher.h"
#include "tenancy/limits/budget_ledger.h"
#include "tenancy/limits/concurrency_limiter.h"
#include "tenancy/limits/price_table.h"
#include "tenancy/limits/rate_limiter.h"
#include "tenancy/limits/usage_store.h"
#include "tenancy/model_gate.h"
#include "tenancy/silo_store.h"
#include "tenancy/tenant_admin.h"

namespace basalt::app {

struct TenancyPaths {
  std::string keys_db, kek_file, audit_db, audit_private_key, audit_public_key, usage_db;
};
TenancyPaths PathsFor(const Config& config);

struct Tenancy {
  std::unique_ptr<crypto::KeyManager> keys;  // null when tenancy.encryption is off
  std::unique_ptr<tenancy::FieldCipher> cipher;
  std::unique_ptr<tenancy::SiloStore> routed;  // silo tenants to their own files
  std::unique_ptr<tenancy::EncryptingStore> sealed_store;
  Store* records = nullptr;  // what services store records in (sealed when encryption is on)
  std::unique_ptr<audit::AuditLog> audit_log;
  std::unique_ptr<tenancy::AuditTrail> audit;
  std::unique_ptr<limits::UsageStore> usage;
  std::unique_ptr<limits::RateLimiter> rates;
  std::unique_ptr<limits::ConcurrencyLimiter> concurrency;
  std::unique_ptr<limits::BudgetLedger> budgets;
  std::unique_ptr<limits::PriceTable> prices;
  std::unique_ptr<tenancy::Directory> directory;
  std::unique_ptr<TenantAuthenticator> authenticator;  // null: no auth configured (dev)
  std::unique_ptr<tenancy::ModelGate> gate;
  std::unique_ptr<tenancy::TenantAdmin> admin;
  // Publishes events on the bus once it exists (guardrail interventions).
  std::function<void(bus::Event)> publish;

  ~Tenancy();
};

// Checks the tenancy sections (tenants, auth.roles, auth.jwt, models.prices,
// regions) without opening anything: for `basalt config check`.
absl::Status ValidateTenancyConfig(const Config& config);

// Phase 1, before the Server: everything that needs neither the io threads
// nor the Router. `raw_store` is the adapter (system records go there as is).
absl::StatusOr<std::unique_ptr<Tenancy>> BuildTenancy(const Config& config, Store& raw_store,
                                                      metrics::Registry& registry);

// Phase 2, once the Server and the Router exist: the JWT issuers (their
// JWKS fetches use `clients`) and the ModelGate.
absl::Status AttachGateway(Tenancy& tenancy, const Config& config, models::Router& router,
                           const net::ClientSet& clients, metrics::Registry& registry);

// Phase 3, once the bus exists: TenantAdmin and the routes of /v1/admin,
// /v1/usage, /v1/audit and ApplyGuardrail.
// `io` runs the event publications.
void AddTenancyRoutes(Tenancy& tenancy, bus::Bus& bus, BlockingPool& pool, net::Router& routes,
                      boost::asio::io_context& io);

}  // namespace basalt::app
