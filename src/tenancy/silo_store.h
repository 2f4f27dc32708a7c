// SiloStore: a Store that keeps each `silo` tenant's records in its own
// database file, <region data dir>/tenants/<tenant>/basalt.db, and every
// `pool` tenant's in the shared store (rows scoped by tenant). The region data
// dir is basalt.yaml's regions.<region>.data_dir, else the node's data_dir for
// its own region (and tenants without one), else <data_dir>/regions/<region>.
//
// A silo's file is opened on first use (the Store is only ever called on the
// blocking pool) and kept open. Deleting a silo tenant removes its directory.
// Thread-safety: as the Store port.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "store/store.h"
#include "tenancy/directory.h"

namespace basalt::tenancy {

class SiloStore final : public Store {
 public:
  using Opener = std::function<absl::StatusOr<std::unique_ptr<Store>>(const std::string& path)>;
  // `region_dirs`: region -> data dir; "" maps to the node's data dir.
  SiloStore(Store& pool, const Directory& directory, std::map<std::string, std::string> region_dirs,
            Opener opener);

  // Where a silo tenant's files live.
  std::string DirectoryFor(const Tenant& tenant) const;

  absl::StatusOr<Record> Create(std::string_view tenant, std::string_view collection,
                                std::string_view id, std::string_view body) override;
  absl::StatusOr<Record> Get(std::string_view tenant, std::string_view collection,
                             std::string_view id) override;
  absl::StatusOr<Record> Update(std::string_view tenant, std::string_view collection,
                                std::string_view id, std::string_view body,
                                int64_t expected_version) override;
  absl::Status Delete(std::string_view tenant, std::string_view collection,
                      std::string_view id) override;
  absl::StatusOr<RecordPage> List(std::string_view tenant, std::string_view collection,
                                  const ListOptions& options) override;
  absl::StatusOr<int64_t> AdminCountAllTenants(std::string_view collection) override;
  absl::Status AdminDeleteTenant(std::string_view tenant) override;
  absl::Status Ping() override { return pool_.Ping(); }
  int SchemaVersion() const override { return pool_.SchemaVersion(); }

 private:
  absl::StatusOr<Store*> For(std::string_view tenant);

  Store& pool_;
  const Directory& directory_;
  const std::map<std::string, std::string> region_dirs_;
  const Opener opener_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Store>, std::less<>> silos_ ABSL_GUARDED_BY(mu_);
};

}  // namespace basalt::tenancy
