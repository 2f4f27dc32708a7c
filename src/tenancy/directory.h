// Directory: the tenants and managed API keys of this deployment, in memory
// for the request path and persisted in the Store (tenant "_basalt",
// collections "tenants" and "api_keys"; neither holds content, and key
// records hold only hashes).
//
// Tenants come from three places: basalt.yaml (`tenants:`; read-only through
// the API, change the file), the admin API (persisted), and tenants that
// config keys name without declaring them ("implicit": default policy, as
// before tenants were resources). Lookups are lock-light (a reader lock and a
// shared_ptr copy) and never touch disk.
//
// Thread-safety: every method may be called from any thread. Lookups never
// block. Mutations write the Store and so BLOCK: run them on the BlockingPool.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "store/store.h"
#include "tenancy/api_keys.h"
#include "tenancy/roles.h"
#include "tenancy/tenant.h"

namespace basalt::tenancy {

inline constexpr std::string_view kSystemTenant = "_basalt";

using TenantPtr = std::shared_ptr<const Tenant>;
using ApiKeyPtr = std::shared_ptr<const ApiKeyRecord>;

struct NewKeyOptions {
  std::string name;
  std::vector<std::string> scopes;  // empty: {"developer"}
  int64_t expires_ms = 0;           // 0: never
  int64_t requests_per_minute = 0;  // the key's own limits (0: only the tenant's)
  int64_t tokens_per_minute = 0;
};

class Directory {
 public:
  // Validates a tenant policy beyond its shape (the guardrail policy); set by app/.
  using PolicyCheck = std::function<absl::Status(const Tenant&, std::string_view path)>;

  // Loads persisted tenants and keys (blocking). `declared` are basalt.yaml's
  // tenants; `implicit` the names config keys use without declaring them.
  static absl::StatusOr<std::unique_ptr<Directory>> Load(Store& store, std::vector<Tenant> declared,
                                                         const std::vector<std::string>& implicit,
                                                         RoleTable roles, PolicyCheck check,
                                                         const Clock& clock = RealClock::Instance());

  TenantPtr Find(std::string_view name) const;
  std::vector<TenantPtr> List() const;
  ApiKeyPtr FindKey(std::string_view id) const;
  const RoleTable& roles() const { return roles_; }

  // Admin mutations (blocking). Errors: kInvalidArgument naming the field,
  // kAlreadyExists, kNotFound, kFailedPrecondition for a tenant declared in
  // basalt.yaml.
  absl::StatusOr<TenantPtr> Create(const nlohmann::json& doc);
  absl::StatusOr<TenantPtr> Update(std::string_view name, const nlohmann::json& patch);
  absl::StatusOr<TenantPtr> SetStatus(std::string_view name, TenantStatus status);
  // Forgets the tenant and its keys; the caller shreds and removes its data first.
  absl::Status Remove(std::string_view name);

  absl::StatusOr<MintedKey> CreateKey(std::string_view tenant, const NewKeyOptions& options);
  std::vector<ApiKeyPtr> ListKeys(std::string_view tenant) const;
  absl::StatusOr<ApiKeyPtr> RevokeKey(std::string_view tenant, std::string_view id);
  // A new key with the same name and scopes; the old one stops working after
  // `grace_ms` (0: at once).
  absl::StatusOr<MintedKey> RotateKey(std::string_view tenant, std::string_view id,
                                      int64_t grace_ms);

 private:
  Directory(Store& store, RoleTable roles, PolicyCheck check, const Clock& clock);
  int64_t NowMs() const;
  absl::Status Persist(const Tenant& tenant, bool create);
  absl::Status PersistKey(const ApiKeyRecord& key, bool create);
  absl::StatusOr<TenantPtr> Replace(const Tenant& updated);

  Store& store_;
  const RoleTable roles_;
  const PolicyCheck check_;
  const Clock& clock_;
  absl::Mutex write_mu_;  // serialises mutations (read-modify-write of one tenant)
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, TenantPtr> tenants_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ApiKeyPtr> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace basalt::tenancy
