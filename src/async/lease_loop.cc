#include "async/lease_loop.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/log.h"

namespace basalt::async {

namespace asio = boost::asio;

// Most jobs leased by one call: keeps one lease transaction short.
constexpr int kMaxLeaseBatch = 64;

LeaseLoop::LeaseLoop(bus::Bus& bus, asio::io_context& io, LeaseLoopOptions options,
                     Handler handler)
    : bus_(bus), io_(io), options_(std::move(options)), handler_(std::move(handler)), idle_(io) {
  bus_.OnChange([wake = idle_.Waker(), mine = options_.queue](int changes,
                                                              std::string_view queue) {
    if ((changes & bus::Bus::kJobsReady) == 0) return;
    if (!queue.empty() && queue != mine) return;
    wake();
  });
}

void LeaseLoop::Start() {
  if (options_.slots <= 0) return;
  looping_ = true;
  asio::co_spawn(io_, Loop(), asio::detached);
}

void LeaseLoop::Stop() {
  draining_->store(true);
  idle_.Wake();
}

asio::awaitable<void> LeaseLoop::Loop() {
  while (!draining_->load()) {
    idle_.Reset();
    const int free = options_.slots - running_.load();
    bool leased_any = false;
    if (free > 0) {
      auto jobs = co_await bus_.Lease(options_.queue, std::min(free, kMaxLeaseBatch),
                                      options_.visibility, options_.on_lease, options_.on_dead);
      if (!jobs.ok()) {
        log::Warn("lease failed", {{"queue", options_.queue},
                                   {"error", std::string(jobs.status().message())}});
      } else {
        for (bus::Job& job : *jobs) {
          leased_any = true;
          running_.fetch_add(1);
          auto run = [this, job = std::move(job)]() mutable -> asio::awaitable<void> {
            co_await handler_(std::move(job), *draining_);
            running_.fetch_sub(1);
            idle_.Wake();  // a slot is free
          };
          asio::co_spawn(io_, std::move(run), asio::detached);
        }
      }
    }
    if (leased_any && running_.load() < options_.slots) continue;
    // Returns at once when work arrived while we were leasing.
    co_await idle_.Wait(options_.poll_interval);
  }
  looping_ = false;
}

}  // namespace basalt::async
