// AsyncSemaphore: bounds the calls in flight to one upstream without blocking a
// thread. A coroutine awaits Acquire(); when every slot is taken it waits in FIFO
// order, bounded by its own time limit, and wakes when a Permit is released on any
// thread. Optionally the queue itself is bounded: past `max_queue` waiters,
// Acquire fails at once with kResourceExhausted (the HTTP layer answers 429 with
// Retry-After instead of letting work pile up).
//
// Thread-safety: all methods may be called from any thread. A waiter is woken by
// posting to the executor it awaited on, so that executor must run its handlers
// one at a time (an io_context run by one thread, or a strand) — true of every
// io thread in basalt.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <utility>

#include <boost/asio/awaitable.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace basalt::models {

class AsyncSemaphore {
 public:
  // `limit` <= 0: unlimited (Acquire never waits). `max_queue` < 0: any number
  // may wait; 0: never wait, fail at once when full.
  AsyncSemaphore(int64_t limit, int64_t max_queue) : limit_(limit), max_queue_(max_queue) {}
  AsyncSemaphore(const AsyncSemaphore&) = delete;
  AsyncSemaphore& operator=(const AsyncSemaphore&) = delete;

  // One slot; destroying it (or Release()) frees the slot for the next waiter.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept : sem_(std::exchange(other.sem_, nullptr)) {}
    Permit& operator=(Permit&& other) noexcept {
      if (this != &other) {
        Release();
        sem_ = std::exchange(other.sem_, nullptr);
      }
      return *this;
    }
    ~Permit() { Release(); }
    void Release() {
      if (AsyncSemaphore* s = std::exchange(sem_, nullptr)) s->Release();
    }
    bool holds_slot() const { return sem_ != nullptr; }

   private:
    friend class AsyncSemaphore;
    explicit Permit(AsyncSemaphore* sem) : sem_(sem) {}
    AsyncSemaphore* sem_ = nullptr;
  };

  // A permit, at once when a slot is free (and nobody is queued ahead), else when
  // one frees up. Errors: kResourceExhausted when the queue is full,
  // kDeadlineExceeded when no slot frees up within `max_wait`, kCancelled when
  // the awaiting coroutine is cancelled.
  boost::asio::awaitable<absl::StatusOr<Permit>> Acquire(std::chrono::nanoseconds max_wait);

  int64_t limit() const { return limit_; }
  int64_t in_use() const;
  int64_t waiting() const;

 private:
  struct Waiter;
  class WaitGuard;
  void Release();

  const int64_t limit_;
  const int64_t max_queue_;
  mutable absl::Mutex mu_;
  int64_t in_use_ ABSL_GUARDED_BY(mu_) = 0;
  // FIFO. Shared with the waiting coroutine so a wake-up posted to its executor
  // stays valid even if the waiter has already given up.
  std::list<std::shared_ptr<Waiter>> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace basalt::models
