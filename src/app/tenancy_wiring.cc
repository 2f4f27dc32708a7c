#include "app/tenancy_wiring.h"

#include <filesystem>

#include "api/tenancy_api.h"
#include "app/jwt_wiring.h"
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "async/records.h"
#include "core/log.h"
#include "store/sqlite/sqlite_store.h"
#include "core/strings.h"
#include "tenancy/limits/calendar.h"

namespace basalt::app {

namespace fs = std::filesystem;
using nlohmann::json;

Tenancy::~Tenancy() {
  // Flush what is buffered before the stores close.
  if (usage) (void)usage->Flush();
  if (audit_log) (void)audit_log->Flush();
}

TenancyPaths PathsFor(const Config& config) {
  const fs::path dir(config.data_dir);
  TenancyPaths p;
  p.keys_db = (dir / "keys.db").string();
  p.kek_file = config.tenancy.kek_file.empty() ? (dir / "keys" / "kek.key").string()
                                               : config.tenancy.kek_file;
  p.audit_db = (dir / "audit.db").string();
  p.audit_private_key = config.tenancy.audit_key_file.empty()
                            ? (dir / "keys" / "audit-signing.pem").string()
                            : config.tenancy.audit_key_file;
  p.audit_public_key = fs::path(p.audit_private_key).replace_extension(".pub.pem").string();
  p.usage_db = (dir / "usage.db").string();
  return p;
}

namespace {

absl::StatusOr<std::vector<tenancy::Tenant>> DeclaredTenants(const Config& config) {
  std::vector<tenancy::Tenant> out;
  const json& section = config.Section("tenants");
  if (section.is_null()) return out;
  const std::string where = config.structured.at("tenants").where;
  if (!section.is_array()) return absl::InvalidArgumentError(where + "tenants: must be a list");
  for (size_t i = 0; i < section.size(); ++i) {
    auto t = tenancy::ParseTenant(section[i], StrCat("tenants[", i, "]"));
    if (!t.ok()) return absl::InvalidArgumentError(StrCat(where, t.status().message()));
    for (const auto& other : out) {
      if (other.name == t->name) {
        return absl::InvalidArgumentError(
            StrCat(where, "tenants[", i, "].name: '", t->name, "' is declared twice"));
      }
    }
    out.push_back(*std::move(t));
  }
  return out;
}

absl::StatusOr<limits::PriceTable> Prices(const Config& config) {
  std::vector<limits::ModelPrice> entries;
  const json& section = config.Section("models.prices");
  if (!section.is_null()) {
    if (!section.is_array()) return absl::InvalidArgumentError("models.prices: must be a list");
    for (size_t i = 0; i < section.size(); ++i) {
      const json& e = section[i];
      const std::string where = StrCat("models.prices[", i, "]");
      if (!e.is_object() || !e.contains("model") || !e["model"].is_string()) {
        return absl::InvalidArgumentError(where + ".model: is required");
      }
      for (auto it = e.begin(); it != e.end(); ++it) {
        if (it.key() != "model" && it.key() != "input_per_million_usd" &&
            it.key() != "output_per_million_usd") {
          return absl::InvalidArgumentError(StrCat(where, ".", it.key(), ": unknown field"));
        }
      }
      limits::ModelPrice price;
      price.model_pattern = e["model"].get<std::string>();
      for (auto [key, out] : {std::pair{"input_per_million_usd", &price.input_per_million_usd},
                              std::pair{"output_per_million_usd", &price.output_per_million_usd}}) {
        if (!e.contains(key)) continue;
        if (!e[key].is_number() || e[key].get<double>() < 0) {
          return absl::InvalidArgumentError(StrCat(where, ".", key, ": must be a number >= 0"));
        }
        *out = e[key].get<double>();
      }
      entries.push_back(std::move(price));
    }
  }
  return limits::PriceTable::Create(entries);
}

// regions: {eu-west-1: {data_dir: /srv/eu}}: where silo tenants of each
// region keep their files. "" and the node's own region map to data_dir.
absl::StatusOr<std::map<std::string, std::string>> RegionDirs(const Config& config) {
  std::map<std::string, std::string> out{{"", config.data_dir}, {config.region, config.data_dir}};
  const json& section = config.Section("regions");
  if (section.is_null()) return out;
  if (!section.is_object()) {
    return absl::InvalidArgumentError("regions: must be a mapping of region to {data_dir}");
  }
  for (auto it = section.begin(); it != section.end(); ++it) {
    const std::string where = StrCat("regions.", it.key());
    if (!it->is_object() || !it->contains("data_dir") || !(*it)["data_dir"].is_string()) {
      return absl::InvalidArgumentError(where + ".data_dir: is required");
    }
    for (auto f = it->begin(); f != it->end(); ++f) {
      if (f.key() != "data_dir") return absl::InvalidArgumentError(StrCat(where, ".", f.key(), ": unknown field"));
    }
    out[it.key()] = (*it)["data_dir"].get<std::string>();
  }
  return out;
}

AuthOptions AuthOptionsFrom(const Config& config) {
  AuthOptions o;
  o.api_keys = config.api_keys;
  o.admin_keys = config.admin_keys;
  o.sigv4_keys = config.sigv4_keys;
  return o;
}

}  // namespace

absl::Status ValidateTenancyConfig(const Config& config) {
  if (auto t = DeclaredTenants(config); !t.ok()) return t.status();
  if (auto p = Prices(config); !p.ok()) return p.status();
  if (auto r = RegionDirs(config); !r.ok()) return r.status();
  tenancy::RoleTable roles;
  if (absl::Status s = roles.AddFromConfig(config.Section("auth.roles")); !s.ok()) return s;
  // A throwaway client set on an idle io_context: nothing is fetched here.
  boost::asio::io_context io;
  auto clients = net::ClientSet::Create({&io}, config.http_client);
  if (!clients.ok()) return clients.status();
  return BuildJwtVerifier(config, roles, clients->get()).status();
}

absl::StatusOr<std::unique_ptr<Tenancy>> BuildTenancy(const Config& config, Store& raw_store,
                                                      metrics::Registry& registry) {
  auto t = std::make_unique<Tenancy>();
  const TenancyPaths paths = PathsFor(config);
  std::error_code ec;
  fs::create_directories(fs::path(paths.kek_file).parent_path(), ec);
  fs::create_directories(fs::path(paths.audit_private_key).parent_path(), ec);

  t->records = &raw_store;
  if (config.tenancy.encryption) {
    crypto::KeyManagerOptions options;
    options.keys_db_path = paths.keys_db;
    options.kek_file = paths.kek_file;
    options.kek_env_value = config.tenancy.kek;
    options.max_encryptions_per_key = static_cast<uint64_t>(config.tenancy.max_encryptions_per_key);
    auto keys = crypto::KeyManager::Open(options);
    if (!keys.ok()) return keys.status();
    t->keys = *std::move(keys);
    if (!t->keys->notice().empty()) log::Warn(t->keys->notice(), {{"kek_file", paths.kek_file}});
    t->cipher = std::make_unique<tenancy::FieldCipher>(*t->keys);
  }

  audit::AuditLog::Options audit_options;
  audit_options.db_path = paths.audit_db;
  audit_options.private_key_path = paths.audit_private_key;
  audit_options.public_key_path = paths.audit_public_key;
  audit_options.max_queue = static_cast<size_t>(config.tenancy.audit_queue);
  auto audit_log = audit::AuditLog::Open(audit_options);
  if (!audit_log.ok()) return audit_log.status();
  t->audit_log = *std::move(audit_log);
  t->audit = std::make_unique<tenancy::AuditTrail>(t->audit_log.get());
  audit::AuditLog* log_ptr = t->audit_log.get();
  auto& dropped = registry.Gauge("basalt_audit_dropped_entries",
                                 "Audit entries dropped because the write queue was full");
  registry.OnCollect([log_ptr, &dropped] {
    dropped.With({}).Set(static_cast<double>(log_ptr->dropped()));
  });

  limits::UsageStore::Options usage_options;
  usage_options.path = paths.usage_db;
  auto usage = limits::UsageStore::Open(usage_options, RealClock::Instance());
  if (!usage.ok()) return usage.status();
  t->usage = *std::move(usage);
  t->rates = std::make_unique<limits::RateLimiter>(RealClock::Instance());
  t->concurrency = std::make_unique<limits::ConcurrencyLimiter>();
  t->budgets = std::make_unique<limits::BudgetLedger>(RealClock::Instance());
  auto prices = Prices(config);
  if (!prices.ok()) return prices.status();
  t->prices = std::make_unique<limits::PriceTable>(*std::move(prices));

  tenancy::RoleTable roles;
  if (absl::Status s = roles.AddFromConfig(config.Section("auth.roles")); !s.ok()) return s;
  auto declared = DeclaredTenants(config);
  if (!declared.ok()) return declared.status();
  const AuthOptions auth_options = AuthOptionsFrom(config);
  std::vector<std::string> implicit = TenantsNamedByKeys(auth_options);
  implicit.push_back("dev");  // the loopback tenant when no auth is configured
  auto directory = tenancy::Directory::Load(raw_store, *std::move(declared), implicit,
                                            std::move(roles), nullptr);
  if (!directory.ok()) return directory.status();
  t->directory = *std::move(directory);

  // Records: silo tenants' in their own files, then sealed when encryption is on.
  auto region_dirs = RegionDirs(config);
  if (!region_dirs.ok()) return region_dirs.status();
  SqliteOptions silo_options;
  silo_options.busy_timeout_ms = config.store.busy_timeout_ms;
  silo_options.pool_size = 2;
  t->routed = std::make_unique<tenancy::SiloStore>(
      raw_store, *t->directory, *std::move(region_dirs),
      [silo_options](const std::string& path) -> absl::StatusOr<std::unique_ptr<Store>> {
        auto s = SqliteStore::Open(path, silo_options);
        if (!s.ok()) return s.status();
        return std::unique_ptr<Store>(*std::move(s));
      });
  t->records = t->routed.get();
  if (t->cipher) {
    t->sealed_store = std::make_unique<tenancy::EncryptingStore>(*t->routed, *t->cipher);
    t->records = t->sealed_store.get();
  }

  // Every known tenant gets its data key now, so sealing never has to create
  // one on an io thread; and this month's spend seeds its budget.
  const limits::MonthSpan month = limits::UtcMonthOf(limits::ToUnixMs(RealClock::Instance().Now()));
  for (const tenancy::TenantPtr& tenant : t->directory->List()) {
    if (t->keys) {
      if (absl::Status s = t->keys->EnsureTenant(tenant->name); !s.ok()) return s;
    }
    auto spent = t->usage->MonthToDate(tenant->name, month.start_ms);
    if (!spent.ok()) return spent.status();
    t->budgets->Load(tenant->name, month.start_ms, spent->tokens, spent->cost_micros);
  }

  if (config.AuthConfigured()) {
    tenancy::AuditTrail* trail = t->audit.get();
    t->authenticator = std::make_unique<TenantAuthenticator>(
        auth_options, t->directory.get(), nullptr,
        [trail](const net::HttpRequest& request, std::string_view action, std::string_view subject,
                std::string_view reason) {
          RequestContext ctx = request.ctx;
          ctx.principal = subject.empty() ? "anonymous" : std::string(subject);
          // Failures before a tenant is known go to the system chain.
          const bool known = action != "auth.failure";
          trail->Record(ctx, known ? std::string_view(request.ctx.tenant) : tenancy::kSystemTenant,
                        action, request.path, audit::AuditOutcome::kDenied, reason);
        });
  }
  return t;
}

absl::Status AttachGateway(Tenancy& t, const Config& config, models::Router& router,
                           const net::ClientSet& clients, metrics::Registry& registry) {
  if (t.authenticator) {
    auto tokens = BuildJwtVerifier(config, t.directory->roles(), &clients);
    if (!tokens.ok()) return tokens.status();
    t.authenticator->SetTokenVerifier(*std::move(tokens));
  }
  tenancy::GateDeps deps;
  deps.router = &router;
  deps.directory = t.directory.get();
  deps.rates = t.rates.get();
  deps.concurrency = t.concurrency.get();
  deps.budgets = t.budgets.get();
  deps.prices = t.prices.get();
  deps.usage = t.usage.get();
  deps.registry = &registry;
  tenancy::AuditTrail* trail = t.audit.get();
  deps.audit = [trail](const RequestContext& ctx, std::string_view action,
                       std::string_view resource, std::string_view reason) {
    trail->Record(ctx, ctx.tenant, action, resource, audit::AuditOutcome::kDenied, reason);
  };
  Tenancy* self = &t;
  deps.guardrail_event = [self](const RequestContext& ctx, std::string_view model,
                                std::string_view source, std::string_view action,
                                const std::set<std::string>& what) {
    if (!self->publish) return;
    nlohmann::json detail = {{"request_id", ctx.request_id}, {"model", model},
                             {"source", source}, {"action", action},
                             {"types", std::vector<std::string>(what.begin(), what.end())}};
    self->publish(async::CustomEvent(ctx.tenant, "basalt.tenancy", "Guardrail Intervened",
                                     std::move(detail), limits::ToUnixMs(RealClock::Instance().Now())));
  };
  tenancy::GateOptions options;
  options.tenant_labels = static_cast<size_t>(config.tenancy.usage_tenant_labels);
  t.gate = std::make_unique<tenancy::ModelGate>(std::move(deps), options);
  const int64_t now = limits::ToUnixMs(RealClock::Instance().Now());
  auto top = t.usage->TopTenants(now - 30 * limits::kDayMs, now + limits::kHourMs,
                                 options.tenant_labels);
  if (top.ok()) t.gate->SeedTenantLabels(*top);
  return absl::OkStatus();
}

void AddTenancyRoutes(Tenancy& t, bus::Bus& bus, BlockingPool& pool, net::Router& routes,
                      boost::asio::io_context& io) {
  t.publish = [&bus, &io](bus::Event event) {
    std::vector<bus::Event> events;
    events.push_back(std::move(event));
    boost::asio::co_spawn(
        io,
        [&bus, events = std::move(events)]() mutable -> boost::asio::awaitable<void> {
          absl::Status s = co_await bus.Publish(std::move(events));
          if (!s.ok()) log::Warn("guardrail event not published", {{"error", std::string(s.message())}});
        },
        boost::asio::detached);
  };
  t.admin = std::make_unique<tenancy::TenantAdmin>(*t.directory, t.keys.get(), *t.routed, bus,
                                                   *t.audit, pool);
  api::TenancyApiDeps deps;
  deps.admin = t.admin.get();
  deps.directory = t.directory.get();
  deps.usage = t.usage.get();
  deps.budgets = t.budgets.get();
  deps.audit_log = t.audit_log.get();
  deps.gate = t.gate.get();
  deps.pool = &pool;
  api::AddTenancyRoutes(routes, deps);
}

}  // namespace basalt::app
