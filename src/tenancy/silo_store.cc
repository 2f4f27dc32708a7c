#include "tenancy/silo_store.h"

#include <filesystem>

#include "core/strings.h"

namespace basalt::tenancy {

namespace fs = std::filesystem;

SiloStore::SiloStore(Store& pool, const Directory& directory,
                     std::map<std::string, std::string> region_dirs, Opener opener)
    : pool_(pool), directory_(directory), region_dirs_(std::move(region_dirs)),
      opener_(std::move(opener)) {}

std::string SiloStore::DirectoryFor(const Tenant& tenant) const {
  fs::path base;
  if (auto it = region_dirs_.find(tenant.region); it != region_dirs_.end()) {
    base = it->second;
  } else {
    base = fs::path(region_dirs_.at("")) / "regions" / tenant.region;
  }
  return (base / "tenants" / tenant.name).string();
}

absl::StatusOr<Store*> SiloStore::For(std::string_view tenant) {
  TenantPtr t = directory_.Find(tenant);
  if (t == nullptr || t->isolation != Isolation::kSilo) return &pool_;
  absl::MutexLock lock(&mu_);
  if (auto it = silos_.find(tenant); it != silos_.end()) return it->second.get();
  const std::string dir = DirectoryFor(*t);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::UnavailableError(StrCat("tenant '", tenant, "': cannot create ", dir, ": ",
                                         ec.message()));
  }
  auto store = opener_((fs::path(dir) / "basalt.db").string());
  if (!store.ok()) return store.status();
  Store* raw = store->get();
  silos_.emplace(std::string(tenant), *std::move(store));
  return raw;
}

absl::StatusOr<Record> SiloStore::Create(std::string_view tenant, std::string_view collection,
                                         std::string_view id, std::string_view body) {
  auto s = For(tenant);
  if (!s.ok()) return s.status();
  return (*s)->Create(tenant, collection, id, body);
}

absl::StatusOr<Record> SiloStore::Get(std::string_view tenant, std::string_view collection,
                                      std::string_view id) {
  auto s = For(tenant);
  if (!s.ok()) return s.status();
  return (*s)->Get(tenant, collection, id);
}

absl::StatusOr<Record> SiloStore::Update(std::string_view tenant, std::string_view collection,
                                         std::string_view id, std::string_view body,
                                         int64_t expected_version) {
  auto s = For(tenant);
  if (!s.ok()) return s.status();
  return (*s)->Update(tenant, collection, id, body, expected_version);
}

absl::Status SiloStore::Delete(std::string_view tenant, std::string_view collection,
                               std::string_view id) {
  auto s = For(tenant);
  if (!s.ok()) return s.status();
  return (*s)->Delete(tenant, collection, id);
}

absl::StatusOr<RecordPage> SiloStore::List(std::string_view tenant, std::string_view collection,
                                           const ListOptions& options) {
  auto s = For(tenant);
  if (!s.ok()) return s.status();
  return (*s)->List(tenant, collection, options);
}

absl::StatusOr<int64_t> SiloStore::AdminCountAllTenants(std::string_view collection) {
  // Open every silo first, so the count covers tenants not used since start.
  for (const TenantPtr& t : directory_.List()) {
    if (t->isolation != Isolation::kSilo) continue;
    if (auto s = For(t->name); !s.ok()) return s.status();
  }
  auto total = pool_.AdminCountAllTenants(collection);
  if (!total.ok()) return total;
  absl::MutexLock lock(&mu_);
  for (auto& [_, store] : silos_) {
    auto n = store->AdminCountAllTenants(collection);
    if (!n.ok()) return n;
    *total += *n;
  }
  return total;
}

absl::Status SiloStore::AdminDeleteTenant(std::string_view tenant) {
  TenantPtr t = directory_.Find(tenant);
  if (t == nullptr || t->isolation != Isolation::kSilo) return pool_.AdminDeleteTenant(tenant);
  {
    absl::MutexLock lock(&mu_);
    silos_.erase(std::string(tenant));  // closes the file
  }
  std::error_code ec;
  fs::remove_all(DirectoryFor(*t), ec);
  if (ec) {
    return absl::UnavailableError(StrCat("tenant '", tenant, "': cannot remove its directory: ",
                                         ec.message()));
  }
  return pool_.AdminDeleteTenant(tenant);
}

}  // namespace basalt::tenancy
