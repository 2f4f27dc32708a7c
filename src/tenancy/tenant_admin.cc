#include "tenancy/tenant_admin.h"

#include "core/strings.h"

namespace basalt::tenancy {

namespace asio = boost::asio;
using audit::AuditOutcome;

TenantAdmin::TenantAdmin(Directory& directory, crypto::KeyManager* keys, Store& records,
                         bus::Bus& bus, const AuditTrail& audit, BlockingPool& pool)
    : directory_(directory), keys_(keys), records_(records), bus_(bus), audit_(audit),
      pool_(pool) {}

namespace {

const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <class T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace

template <class T>
void TenantAdmin::Audit(const RequestContext& ctx, std::string_view tenant,
                        std::string_view action, std::string_view resource,
                        const T& result) const {
  const absl::Status& s = StatusOf(result);
  audit_.Record(ctx, tenant, action, resource, s.ok() ? AuditOutcome::kOk : AuditOutcome::kError,
                s.ok() ? std::string_view() : ToStd(s.message()));
}

asio::awaitable<absl::StatusOr<TenantPtr>> TenantAdmin::Create(const RequestContext& ctx,
                                                               nlohmann::json doc) {
  auto fn = [this, &doc]() -> absl::StatusOr<TenantPtr> {
    auto t = directory_.Create(doc);
    if (!t.ok() || keys_ == nullptr) return t;
    if (absl::Status s = keys_->EnsureTenant((*t)->name); !s.ok()) return s;
    return t;
  };
  auto t = co_await pool_.Run(fn);
  const std::string name = t.ok() ? (*t)->name : doc.value("name", "");
  Audit(ctx, name, "tenant.create", name, t);
  co_return t;
}

asio::awaitable<absl::StatusOr<TenantPtr>> TenantAdmin::Update(const RequestContext& ctx,
                                                               std::string name,
                                                               nlohmann::json patch) {
  auto fn = [this, &name, &patch] { return directory_.Update(name, patch); };
  auto t = co_await pool_.Run(fn);
  Audit(ctx, name, "tenant.update", name, t);
  co_return t;
}

asio::awaitable<absl::StatusOr<TenantPtr>> TenantAdmin::SetStatus(const RequestContext& ctx,
                                                                  std::string name,
                                                                  TenantStatus status) {
  auto fn = [this, &name, status] { return directory_.SetStatus(name, status); };
  auto t = co_await pool_.Run(fn);
  Audit(ctx, name, status == TenantStatus::kSuspended ? "tenant.suspend" : "tenant.resume", name,
        t);
  co_return t;
}

asio::awaitable<absl::Status> TenantAdmin::Delete(const RequestContext& ctx, std::string name) {
  TenantPtr tenant = directory_.Find(name);
  if (tenant == nullptr) co_return absl::NotFoundError(StrCat("no tenant '", name, "'"));
  if (tenant->source != "api") {
    co_return absl::FailedPreconditionError(
        StrCat("tenant '", name, "' is declared in basalt.yaml; remove it there"));
  }
  // Shred first: from here on nothing of the tenant can be read, even if a
  // later step fails and leaves rows behind.
  auto shred = [this, &name]() -> absl::Status {
    if (keys_ != nullptr) {
      if (absl::Status s = keys_->DestroyTenant(name); !s.ok()) return s;
    }
    return records_.AdminDeleteTenant(name);
  };
  absl::Status s = co_await pool_.Run(shred);
  if (s.ok()) s = co_await bus_.AdminDeleteTenant(name);
  for (const Eraser& erase : erasers_) {
    if (!s.ok()) break;
    s = co_await erase(name);
  }
  if (s.ok()) {
    auto forget = [this, &name] { return directory_.Remove(name); };
    s = co_await pool_.Run(forget);
  }
  Audit(ctx, name, "tenant.delete", name, s);
  co_return s;
}

asio::awaitable<absl::StatusOr<MintedKey>> TenantAdmin::CreateKey(const RequestContext& ctx,
                                                                  std::string tenant,
                                                                  NewKeyOptions options) {
  auto fn = [this, &tenant, &options] { return directory_.CreateKey(tenant, options); };
  auto k = co_await pool_.Run(fn);
  Audit(ctx, tenant, "api_key.create", k.ok() ? k->record.prefix() : std::string(), k);
  co_return k;
}

asio::awaitable<absl::StatusOr<ApiKeyPtr>> TenantAdmin::RevokeKey(const RequestContext& ctx,
                                                                  std::string tenant,
                                                                  std::string id) {
  auto fn = [this, &tenant, &id] { return directory_.RevokeKey(tenant, id); };
  auto k = co_await pool_.Run(fn);
  Audit(ctx, tenant, "api_key.revoke", StrCat("bsk_", id), k);
  co_return k;
}

asio::awaitable<absl::StatusOr<MintedKey>> TenantAdmin::RotateKey(const RequestContext& ctx,
                                                                  std::string tenant,
                                                                  std::string id,
                                                                  int64_t grace_ms) {
  auto fn = [this, &tenant, &id, grace_ms] { return directory_.RotateKey(tenant, id, grace_ms); };
  auto k = co_await pool_.Run(fn);
  Audit(ctx, tenant, "api_key.rotate", StrCat("bsk_", id), k);
  co_return k;
}

}  // namespace basalt::tenancy
