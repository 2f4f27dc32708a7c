// EventHub: live, in-process fan-out of bus events to SSE subscribers (a
// request's event stream, a rule's `sse` target). The dispatcher publishes every
// event it reads from the bus's log; subscribers on any io thread receive the
// ones their filter accepts. Nothing here is durable: history comes from the
// bus (Bus::EventsFor), and a subscriber that falls more than `kMaxBuffered`
// events behind is told so and closed rather than buffering without bound.
//
// Thread-safety: Publish and Subscribe may be called from any thread. A
// Subscription is used by one coroutine, on the executor it was created with.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bus/bus.h"

namespace basalt::async {

class EventHub;

class Subscription {
 public:
  static constexpr size_t kMaxBuffered = 4096;
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // The next event; nullopt after `wait` passes with none (send a heartbeat and
  // call again). kResourceExhausted when the subscriber fell too far behind.
  boost::asio::awaitable<absl::StatusOr<std::optional<bus::Event>>> Next(
      std::chrono::milliseconds wait);

 private:
  friend class EventHub;
  Subscription(EventHub* hub, boost::asio::any_io_executor executor, std::string tenant,
               std::function<bool(const bus::Event&)> accept);
  void Deliver(const bus::Event& event);  // any thread

  EventHub* hub_;
  boost::asio::any_io_executor executor_;
  std::string tenant_;
  std::function<bool(const bus::Event&)> accept_;
  boost::asio::steady_timer timer_;
  std::mutex mu_;
  std::deque<bus::Event> buffered_;
  bool overflowed_ = false;
  // Shared with posted wake-ups so they are safe after the subscription ends.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class EventHub {
 public:
  // Events of `tenant` that `accept` takes, from now on.
  std::unique_ptr<Subscription> Subscribe(boost::asio::any_io_executor executor,
                                          std::string tenant,
                                          std::function<bool(const bus::Event&)> accept);
  void Publish(const bus::Event& event);
  size_t Subscribers() const;

 private:
  friend class Subscription;
  void Remove(Subscription* sub);

  mutable std::mutex mu_;
  std::vector<Subscription*> subs_;
};

}  // namespace basalt::async
