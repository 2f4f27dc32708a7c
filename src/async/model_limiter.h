// ModelLimiter: at most `limit` jobs per model running at once in this process,
// across every io thread's worker. A job past the limit waits (its lease keeps
// being renewed by nobody yet, so waits are kept short by leasing only as many
// jobs as there are worker slots). Slots are handed over in FIFO order: the
// releaser gives its slot to the first waiter and wakes it on its own executor.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace basalt::async {

class ModelLimiter {
 public:
  explicit ModelLimiter(int64_t limit) : limit_(limit < 1 ? 1 : limit) {}

  boost::asio::awaitable<void> Acquire(const std::string& model) {
    auto executor = co_await boost::asio::this_coro::executor;
    auto waiter = std::make_shared<Waiter>(executor);
    {
      std::lock_guard<std::mutex> lock(mu_);
      Slots& slots = models_[model];
      if (slots.running < limit_) {
        ++slots.running;
        co_return;
      }
      slots.waiters.push_back(waiter);
    }
    // Woken (timer cancelled) only once Release handed this waiter a slot.
    while (!waiter->granted) {
      co_await waiter->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
  }

  void Release(const std::string& model) {
    std::shared_ptr<Waiter> next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Slots& slots = models_[model];
      if (slots.waiters.empty()) {
        --slots.running;
        return;
      }
      next = std::move(slots.waiters.front());
      slots.waiters.pop_front();
    }
    boost::asio::post(next->timer.get_executor(), [next] {
      next->granted = true;
      next->timer.cancel();
    });
  }

 private:
  struct Waiter {
    explicit Waiter(const boost::asio::any_io_executor& ex)
        : timer(ex, boost::asio::steady_timer::time_point::max()) {}
    boost::asio::steady_timer timer;
    bool granted = false;  // touched on the waiter's executor only
  };
  struct Slots {
    int64_t running = 0;
    std::deque<std::shared_ptr<Waiter>> waiters;
  };
  const int64_t limit_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Slots> models_;
};

}  // namespace basalt::async
