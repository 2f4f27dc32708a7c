// AsyncStore: the Store as io-thread coroutines see it. Each method runs the
// matching Store call on the BlockingPool and resumes the awaiting coroutine
// on its own executor with the result, so an io thread never blocks on disk.
//
//   absl::StatusOr<Record> r = co_await async_store.Get(ctx.tenant, "jobs", id);
//
// Results and error codes are the Store's (store.h), plus kResourceExhausted
// when the pool already holds its maximum of pending calls; the call is then
// not run at all, and the HTTP layer answers 429 with Retry-After.
//
// Arguments are taken by value and kept in the coroutine frame, so callers may
// pass temporaries and need not keep anything alive across the co_await.
// List takes the cursor and limit as plain parameters rather than a
// ListOptions: g++ 12 miscompiles an aggregate temporary holding a std::string
// (e.g. `co_await List(t, c, {})`) inside a co_await expression, freeing it
// twice; std::string and int arguments are unaffected (see async_store.cc).
//
// Thread-safety: as safe as the Store and pool it wraps (both are fully
// thread-safe). Both must outlive the AsyncStore and every call in flight.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/blocking_pool.h"
#include "store/store.h"

namespace basalt {

class AsyncStore {
 public:
  AsyncStore(Store& store, BlockingPool& pool) : store_(store), pool_(pool) {}

  boost::asio::awaitable<absl::StatusOr<Record>> Create(std::string tenant, std::string collection,
                                                        std::string id, std::string body);
  boost::asio::awaitable<absl::StatusOr<Record>> Get(std::string tenant, std::string collection,
                                                     std::string id);
  boost::asio::awaitable<absl::StatusOr<Record>> Update(std::string tenant, std::string collection,
                                                        std::string id, std::string body,
                                                        int64_t expected_version);
  boost::asio::awaitable<absl::Status> Delete(std::string tenant, std::string collection,
                                              std::string id);
  // after_id and limit as in ListOptions (store.h).
  boost::asio::awaitable<absl::StatusOr<RecordPage>> List(std::string tenant,
                                                          std::string collection,
                                                          std::string after_id = "",
                                                          int limit = 100);
  boost::asio::awaitable<absl::StatusOr<int64_t>> AdminCountAllTenants(std::string collection);
  boost::asio::awaitable<absl::Status> Ping();

  // The wrapped store, for code already on a pool thread.
  Store& store() { return store_; }

 private:
  Store& store_;
  BlockingPool& pool_;
};

}  // namespace basalt
