#include "async/event_hub.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace basalt::async {

namespace asio = boost::asio;

Subscription::Subscription(EventHub* hub, asio::any_io_executor executor, std::string tenant,
                           std::function<bool(const bus::Event&)> accept)
    : hub_(hub),
      executor_(executor),
      tenant_(std::move(tenant)),
      accept_(std::move(accept)),
      timer_(executor) {}

Subscription::~Subscription() {
  hub_->Remove(this);
  *alive_ = false;
}

void Subscription::Deliver(const bus::Event& event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (buffered_.size() >= kMaxBuffered) {
      overflowed_ = true;
    } else {
      buffered_.push_back(event);
    }
  }
  // Wake the subscriber on its own executor; the timer is only touched there.
  asio::post(executor_, [this, alive = alive_] {
    if (*alive) timer_.cancel();
  });
}

asio::awaitable<absl::StatusOr<std::optional<bus::Event>>> Subscription::Next(
    std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (overflowed_) {
        co_return absl::ResourceExhaustedError("subscriber fell too far behind the event stream");
      }
      if (!buffered_.empty()) {
        bus::Event e = std::move(buffered_.front());
        buffered_.pop_front();
        co_return std::optional<bus::Event>(std::move(e));
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) co_return std::optional<bus::Event>();
    // Checking the buffer and starting the wait happen without a suspension in
    // between, and wake-ups are posted to this executor, so none is lost.
    timer_.expires_at(deadline);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

std::unique_ptr<Subscription> EventHub::Subscribe(asio::any_io_executor executor,
                                                  std::string tenant,
                                                  std::function<bool(const bus::Event&)> accept) {
  std::unique_ptr<Subscription> sub(
      new Subscription(this, executor, std::move(tenant), std::move(accept)));
  std::lock_guard<std::mutex> lock(mu_);
  subs_.push_back(sub.get());
  return sub;
}

void EventHub::Publish(const bus::Event& event) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Subscription* s : subs_) {
    if (s->tenant_ == event.tenant && s->accept_(event)) s->Deliver(event);
  }
}

size_t EventHub::Subscribers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subs_.size();
}

void EventHub::Remove(Subscription* sub) {
  std::lock_guard<std::mutex> lock(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), sub), subs_.end());
}

}  // namespace basalt::async
