#include "models/router/semaphore.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/strings.h"

namespace basalt::models {

namespace asio = boost::asio;

struct AsyncSemaphore::Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;  // touched only on its own executor
  bool granted = false;      // guarded by the semaphore's mu_: a slot was handed over
  bool taken = false;        // guarded by mu_: the waiter turned the slot into a Permit
};

// Leaves the queue however the wait ends (including an exception thrown into a
// cancelled coroutine): an ungranted waiter is unlinked, and a slot granted but
// never taken is passed on, so no slot is ever lost.
class AsyncSemaphore::WaitGuard {
 public:
  WaitGuard(AsyncSemaphore* sem, std::shared_ptr<Waiter> waiter,
            std::list<std::shared_ptr<Waiter>>::iterator position)
      : sem_(sem), waiter_(std::move(waiter)), position_(position) {}
  WaitGuard(const WaitGuard&) = delete;
  WaitGuard& operator=(const WaitGuard&) = delete;
  ~WaitGuard() {
    bool pass_on = false;
    {
      absl::MutexLock lock(&sem_->mu_);
      if (!waiter_->granted) {
        sem_->waiters_.erase(position_);
      } else {
        pass_on = !waiter_->taken;
      }
    }
    if (pass_on) sem_->Release();
  }

 private:
  AsyncSemaphore* sem_;
  std::shared_ptr<Waiter> waiter_;
  std::list<std::shared_ptr<Waiter>>::iterator position_;
};

asio::awaitable<absl::StatusOr<AsyncSemaphore::Permit>> AsyncSemaphore::Acquire(
    std::chrono::nanoseconds max_wait) {
  if (limit_ <= 0) co_return Permit();
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  std::shared_ptr<Waiter> waiter;
  std::list<std::shared_ptr<Waiter>>::iterator position;
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    const int64_t queued = static_cast<int64_t>(waiters_.size());
    if (in_use_ < limit_ && queued == 0) {
      ++in_use_;
    } else if (max_queue_ >= 0 && queued >= max_queue_) {
      refused = absl::ResourceExhaustedError(
          StrCat("at the concurrency limit (", limit_, " in flight, ", queued, " queued)"));
    } else if (max_wait <= std::chrono::nanoseconds(0)) {
      refused = absl::DeadlineExceededError(
          StrCat("no time left to wait for a slot (", limit_, " in flight)"));
    } else {
      waiter = std::make_shared<Waiter>(executor);
      waiter->timer.expires_after(max_wait);
      position = waiters_.insert(waiters_.end(), waiter);
    }
  }
  if (!refused.ok()) co_return refused;
  if (waiter == nullptr) co_return Permit(this);

  WaitGuard guard(this, waiter, position);
  auto [ec] = co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  {
    absl::MutexLock lock(&mu_);
    if (waiter->granted) waiter->taken = true;
  }
  if (waiter->taken) co_return Permit(this);
  if (ec == asio::error::operation_aborted) {
    co_return absl::CancelledError("cancelled while waiting for a concurrency slot");
  }
  co_return absl::DeadlineExceededError(
      StrCat("timed out waiting for a concurrency slot (", limit_, " in flight)"));
}

void AsyncSemaphore::Release() {
  std::shared_ptr<Waiter> next;
  {
    absl::MutexLock lock(&mu_);
    if (waiters_.empty()) {
      --in_use_;
    } else {
      // Hand the slot straight to the first waiter so a newcomer cannot overtake it.
      next = std::move(waiters_.front());
      waiters_.pop_front();
      next->granted = true;
    }
  }
  if (next != nullptr) {
    asio::any_io_executor ex = next->timer.get_executor();
    asio::post(ex, [next = std::move(next)] { next->timer.cancel(); });
  }
}

int64_t AsyncSemaphore::in_use() const {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

int64_t AsyncSemaphore::waiting() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(waiters_.size());
}

}  // namespace basalt::models
