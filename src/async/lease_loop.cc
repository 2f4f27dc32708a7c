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
  bus_.OnChange([this, alive = alive_](int changes, std::string_view queue) {
    if ((changes & bus::Bus::kJobsReady) == 0) return;
    if (!queue.empty() && queue != options_.queue) return;
    if (alive->load()) Wake();
  });
}

LeaseLoop::~LeaseLoop() { alive_->store(false); }

void LeaseLoop::Wake() {
  // At most one wake-up in flight: commits can come thousands of times a second.
  if (wake_posted_->exchange(true)) return;
  asio::post(io_, [this, alive = alive_, posted = wake_posted_] {
    posted->store(false);
    if (!alive->load()) return;
    woken_ = true;
    idle_.cancel();
  });
}

void LeaseLoop::Start() {
  if (options_.slots <= 0) return;
  looping_ = true;
  asio::co_spawn(io_, Loop(), asio::detached);
}

void LeaseLoop::Stop() {
  draining_->store(true);
  Wake();
}

asio::awaitable<void> LeaseLoop::Loop() {
  while (!draining_->load()) {
    woken_ = false;
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
            Wake();  // a slot is free
          };
          asio::co_spawn(io_, std::move(run), asio::detached);
        }
      }
    }
    if (leased_any && running_.load() < options_.slots) continue;
    if (woken_) {  // work arrived while we were leasing
      woken_ = false;
      continue;
    }
    idle_.expires_after(options_.poll_interval);
    co_await idle_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  looping_ = false;
}

}  // namespace basalt::async
