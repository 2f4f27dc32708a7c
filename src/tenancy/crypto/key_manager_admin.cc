// KeyManager's administrative operations: rotation, KEK rewrap and
// crypto-shredding. See key_manager.h.
#include <openssl/crypto.h>

#include <string>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "tenancy/crypto/key_manager.h"
#include "tenancy/crypto/key_manager_internal.h"

namespace basalt::crypto {

using key_manager_internal::Destroyed;
using key_manager_internal::NowUnix;

absl::Status KeyManager::RotateTenant(std::string_view tenant_id) {
  absl::MutexLock write_lock(&write_mu_);
  uint32_t newest = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = tenants_.find(ToAbsl(tenant_id));
    if (it == tenants_.end())
      return absl::NotFoundError(StrCat("no data key for tenant ", tenant_id));
    if (it->second->destroyed) return Destroyed();
    for (const auto& [version, unused] : it->second->versions) newest = std::max(newest, version);
  }
  if (newest == UINT32_MAX) return absl::ResourceExhaustedError("no key versions left");
  return AddVersionLocked(tenant_id, newest + 1);
}

absl::Status KeyManager::RotateAllTenants() {
  std::vector<std::string> names;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [name, tenant] : tenants_) {
      if (!tenant->destroyed) names.push_back(name);
    }
  }
  for (const std::string& name : names) {
    absl::Status s = RotateTenant(name);
    // A tenant destroyed since the list was taken needs no new key.
    if (!s.ok() && !absl::IsFailedPrecondition(s)) return s;
  }
  return absl::OkStatus();
}

absl::Status KeyManager::RewrapAll(const Kek& new_kek) {
  absl::MutexLock write_lock(&write_mu_);
  absl::StatusOr<std::vector<StoredKey>> rows = store_->LoadAll();
  if (!rows.ok()) return rows.status();
  std::vector<StoredKey> rewrapped;
  for (const StoredKey& row : *rows) {
    if (row.state == KeyState::kDestroyed) continue;
    absl::StatusOr<std::string> key = kek_.Unwrap(row.wrapped, row.tenant, row.version);
    if (!key.ok()) {
      return absl::DataLossError(StrCat("keys database: data key of tenant ", row.tenant,
                                        " version ", row.version, ": ", key.status().message()));
    }
    absl::StatusOr<std::string> wrapped = new_kek.Wrap(*key, row.tenant, row.version);
    OPENSSL_cleanse(key->data(), key->size());
    if (!wrapped.ok()) return wrapped.status();
    StoredKey out;
    out.tenant = row.tenant;
    out.version = row.version;
    out.wrapped = *std::move(wrapped);
    out.kek_id = new_kek.id();
    rewrapped.push_back(std::move(out));
  }
  if (absl::Status s = store_->Rewrap(rewrapped, kek_.id()); !s.ok()) return s;
  kek_ = new_kek;
  // The old wrapped forms are overwritten in the database; take them out of
  // the WAL as well. Failing that is not fatal: they need the old KEK.
  store_->TruncateWal().IgnoreError();
  return absl::OkStatus();
}

absl::Status KeyManager::DestroyTenant(std::string_view tenant_id) {
  absl::MutexLock write_lock(&write_mu_);
  if (absl::Status s = store_->MarkDestroyed(tenant_id, NowUnix()); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    std::unique_ptr<Tenant>& tenant = tenants_[ToAbsl(tenant_id)];
    // Replacing the entry frees (and clears) every unwrapped key; no reader
    // holds one, since readers hold mu_ shared while they use it.
    tenant = std::make_unique<Tenant>();
    tenant->destroyed = true;
  }
  return store_->TruncateWal();
}

}  // namespace basalt::crypto
