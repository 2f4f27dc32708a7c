// TenantAdmin: the admin operations on tenants and their keys, with what
// each one implies beyond the Directory: a new tenant gets its data key at
// once; every change is audited in the tenant's chain; deleting a tenant
// crypto-shreds it (its data keys are destroyed first, so whatever is left on
// disk, in WAL files or backups, can no longer be read) and then removes its
// records, jobs and events.
//
// Coroutines for io threads: blocking work runs on the BlockingPool.
#pragma once

#include <functional>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "bus/bus.h"
#include "core/blocking_pool.h"
#include "core/context.h"
#include "store/store.h"
#include "tenancy/audit_trail.h"
#include "tenancy/crypto/key_manager.h"
#include "tenancy/directory.h"

namespace basalt::tenancy {

class TenantAdmin {
 public:
  // `keys` null: encryption is off (nothing to create or shred).
  TenantAdmin(Directory& directory, crypto::KeyManager* keys, Store& records, bus::Bus& bus,
              const AuditTrail& audit, BlockingPool& pool);

  boost::asio::awaitable<absl::StatusOr<TenantPtr>> Create(const RequestContext& ctx,
                                                           nlohmann::json doc);
  boost::asio::awaitable<absl::StatusOr<TenantPtr>> Update(const RequestContext& ctx,
                                                           std::string name, nlohmann::json patch);
  boost::asio::awaitable<absl::StatusOr<TenantPtr>> SetStatus(const RequestContext& ctx,
                                                              std::string name,
                                                              TenantStatus status);
  boost::asio::awaitable<absl::Status> Delete(const RequestContext& ctx, std::string name);

  boost::asio::awaitable<absl::StatusOr<MintedKey>> CreateKey(const RequestContext& ctx,
                                                              std::string tenant,
                                                              NewKeyOptions options);
  boost::asio::awaitable<absl::StatusOr<ApiKeyPtr>> RevokeKey(const RequestContext& ctx,
                                                              std::string tenant, std::string id);
  boost::asio::awaitable<absl::StatusOr<MintedKey>> RotateKey(const RequestContext& ctx,
                                                              std::string tenant, std::string id,
                                                              int64_t grace_ms);

  Directory& directory() const { return directory_; }

  // What else a tenant owns (knowledge bases and their index files, ...).
  // Delete runs each eraser, in the order added, after the records and the
  // bus and before the tenant leaves the directory; the first error stops it.
  using Eraser = std::function<boost::asio::awaitable<absl::Status>(std::string tenant)>;
  void AddEraser(Eraser eraser) { erasers_.push_back(std::move(eraser)); }

 private:
  template <class T>
  void Audit(const RequestContext& ctx, std::string_view tenant, std::string_view action,
             std::string_view resource, const T& result) const;

  Directory& directory_;
  crypto::KeyManager* keys_;
  Store& records_;
  bus::Bus& bus_;
  const AuditTrail& audit_;
  BlockingPool& pool_;
  std::vector<Eraser> erasers_;
};

}  // namespace basalt::tenancy
