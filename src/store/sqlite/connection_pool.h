// ConnectionPool: a fixed set of SQLite connections to one database file,
// lent one caller at a time. Under WAL, readers on different connections run
// in parallel; writers still take turns (SQLite allows one writer).
//
// Thread-safety: Acquire may be called from any thread. A Lease returns its
// connection on destruction, rolling back any transaction left open so the
// next borrower starts clean. The pool must outlive every Lease.
#pragma once

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "store/sqlite/connection.h"

namespace basalt::sqlite {

class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, Connection* conn) : pool_(pool), conn_(conn) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(other.conn_) {
      other.conn_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();

    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_; }

   private:
    ConnectionPool* pool_;
    Connection* conn_;
  };

  // Takes ownership of `connections` (at least one). Acquire waits at most
  // `wait` for a free connection.
  ConnectionPool(std::vector<std::unique_ptr<Connection>> connections, absl::Duration wait);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A free connection; kUnavailable when none frees up within the wait.
  [[nodiscard]] absl::StatusOr<Lease> Acquire();

  size_t size() const { return connections_.size(); }

 private:
  void Release(Connection* conn);
  bool HasFree() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !free_.empty(); }

  // Owns every connection; never changes after construction, so it is read
  // without the lock.
  const std::vector<std::unique_ptr<Connection>> connections_;
  const absl::Duration wait_;
  absl::Mutex mu_;
  std::vector<Connection*> free_ ABSL_GUARDED_BY(mu_);
};

}  // namespace basalt::sqlite
