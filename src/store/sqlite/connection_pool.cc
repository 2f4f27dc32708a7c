#include "store/sqlite/connection_pool.h"

#include <utility>

#include "core/strings.h"

namespace basalt::sqlite {

ConnectionPool::Lease::~Lease() {
  if (conn_ == nullptr) return;
  // Every store method commits or rolls back before returning; this catches a
  // path that forgot, so a leaked transaction cannot hold the write lock.
  conn_->RollbackIfOpen();
  pool_->Release(conn_);
}

ConnectionPool::ConnectionPool(std::vector<std::unique_ptr<Connection>> connections,
                               absl::Duration wait)
    : connections_(std::move(connections)), wait_(wait) {
  absl::MutexLock lock(&mu_);
  for (const auto& conn : connections_) free_.push_back(conn.get());
}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  absl::MutexLock lock(&mu_);
  if (!mu_.AwaitWithTimeout(absl::Condition(this, &ConnectionPool::HasFree), wait_)) {
    return absl::UnavailableError(StrCat("all ", connections_.size(),
                                         " SQLite connections stayed busy for ",
                                         absl::FormatDuration(wait_), "; retry later"));
  }
  Connection* conn = free_.back();
  free_.pop_back();
  return Lease(this, conn);
}

void ConnectionPool::Release(Connection* conn) {
  absl::MutexLock lock(&mu_);
  free_.push_back(conn);
}

}  // namespace basalt::sqlite
