// BlockingPool: a bounded set of threads for work that must never run on an io
// thread (SQLite, file I/O, parsing large documents, CPU-heavy scoring).
//
// A coroutine on an io thread writes `auto r = co_await pool.Run(fn);`: fn runs
// on a pool thread and the coroutine resumes on its own executor with fn's
// result. fn must return absl::Status or absl::StatusOr<T>.
//
// Bounded: at most `max_pending` calls may be queued or running. Past that, Run
// does not queue; it answers kResourceExhausted at once, which the HTTP layer
// turns into 429 with Retry-After. Thread-safe; the destructor waits for running
// work to finish.
#pragma once

#include <atomic>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt {

class BlockingPool {
 public:
  BlockingPool(size_t threads, size_t max_pending)
      : pool_(threads == 0 ? 1 : threads), max_pending_(max_pending == 0 ? 1 : max_pending) {}
  ~BlockingPool() { pool_.join(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&>> Run(F fn) {
    using R = std::invoke_result_t<F&>;
    if (pending_.fetch_add(1, std::memory_order_acq_rel) >= max_pending_) {
      pending_.fetch_sub(1, std::memory_order_acq_rel);
      co_return R(absl::ResourceExhaustedError("blocking pool is full; retry later"));
    }
    // The initiation is a named local on purpose: g++ 12 miscompiles a lambda
    // temporary with owning captures inside a co_await expression (it is copied
    // bitwise and destroyed twice). Callers should likewise not write
    // `co_await pool.Run([s = std::string(...)] {...})`; name the lambda first.
    auto initiation = [this, fn = std::move(fn)](auto handler) mutable {
          auto resume_on = boost::asio::get_associated_executor(handler);
          boost::asio::post(pool_, [this, fn = std::move(fn), handler = std::move(handler),
                                    resume_on]() mutable {
            R result = fn();
            pending_.fetch_sub(1, std::memory_order_acq_rel);
            boost::asio::post(resume_on, [handler = std::move(handler),
                                          result = std::move(result)]() mutable {
              std::move(handler)(std::move(result));
            });
          });
        };
    co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(R)>(
        std::move(initiation), boost::asio::use_awaitable);
  }

  // Waits for queued and running work to finish. Call before destroying the
  // io_contexts that awaiting coroutines would resume on. Idempotent.
  void Join() { pool_.join(); }

  // Work queued or running right now (for the gauge and for tests).
  size_t Pending() const { return pending_.load(std::memory_order_relaxed); }
  size_t Capacity() const { return max_pending_; }

 private:
  boost::asio::thread_pool pool_;
  const size_t max_pending_;
  std::atomic<size_t> pending_{0};
};

}  // namespace basalt
