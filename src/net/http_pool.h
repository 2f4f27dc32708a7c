// Internals of HttpClient: the keep-alive pool of one origin (scheme, host, port).
//
// A HostPool hands out Leases. A lease is one of at most `max_connections` slots;
// it may hold an idle connection taken from the pool (reused) or none yet (the
// caller connects). Callers beyond the limit wait in FIFO order, bounded by their
// deadline. Idle connections older than `idle_timeout` are dropped lazily, whenever
// the pool is used or swept.
//
// Thread-safety: none; a pool lives on its client's one executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "net/http_connection.h"

namespace basalt::net::client_internal {

class HostPool;

// One slot of a HostPool. Destroying a lease closes its connection (its state is
// unknown: the exchange may have been cut short) and frees the slot; Return() puts
// a connection whose exchange finished cleanly back for reuse.
class Lease {
 public:
  Lease() = default;
  Lease(std::shared_ptr<HostPool> pool, std::unique_ptr<Connection> conn);
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&& other) noexcept;
  ~Lease();

  bool valid() const { return pool_ != nullptr; }
  Connection* conn() const { return conn_.get(); }
  void Attach(std::unique_ptr<Connection> conn) { conn_ = std::move(conn); }
  // Closes the connection but keeps the slot (to connect afresh).
  void Discard();
  // Gives the connection back as idle and frees the slot.
  void Return();

 private:
  void Release(bool reusable);

  std::shared_ptr<HostPool> pool_;
  std::unique_ptr<Connection> conn_;
};

class HostPool : public std::enable_shared_from_this<HostPool> {
 public:
  HostPool(boost::asio::any_io_executor executor, std::string origin, int64_t max_connections,
           std::chrono::milliseconds idle_timeout);
  ~HostPool();

  // A lease, at once if a slot is free, else once one frees up. kDeadlineExceeded if
  // none does by `deadline`; kCancelled if the awaiting coroutine is cancelled.
  boost::asio::awaitable<absl::StatusOr<Lease>> Acquire(Clock::time_point deadline);

  // Closes idle connections idle since before `now - idle_timeout`.
  void DropExpired(Clock::time_point now);

  size_t idle() const { return idle_.size(); }
  // Whether nothing refers to the pool any more (no leases, idle connections or
  // waiters), so it can be forgotten.
  bool unused() const { return leased_ == 0 && idle_.empty() && waiters_.empty(); }

 private:
  friend class Lease;
  struct Waiter;

  // Frees a slot: hands it (with `conn`, if any) to the first waiter, or else
  // keeps `conn` as idle.
  void Release(std::unique_ptr<Connection> conn);

  boost::asio::any_io_executor executor_;
  std::string origin_;
  int64_t max_connections_;
  std::chrono::milliseconds idle_timeout_;
  int64_t leased_ = 0;                            // slots held by leases
  std::deque<std::unique_ptr<Connection>> idle_;  // oldest first
  std::list<Waiter*> waiters_;                    // FIFO; each lives in an Acquire frame
};

}  // namespace basalt::net::client_internal
