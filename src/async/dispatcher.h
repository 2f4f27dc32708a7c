// Dispatcher: reads the bus's event log in order from a durable cursor and
// routes every event: to live SSE subscribers (EventHub), to the webhook and
// model targets of the tenant's matching rules, and to a request's
// callback_url when it ends. The deliveries and the cursor advance are written
// in one transaction, so after a crash the unrouted tail is read again and no
// event is routed twice (deliveries carry idempotency keys derived from the
// event id). One dispatcher runs per data directory: in `basalt serve`, never
// in `basalt worker`.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "async/async_metrics.h"
#include "async/event_hub.h"
#include "async/idle_waiter.h"
#include "async/rules.h"
#include "core/clock.h"
#include "core/config.h"

namespace basalt::async {

// Completions per second seen in the log (any process), for estimates.
class Throughput {
 public:
  void Add(int64_t completions, std::chrono::steady_clock::time_point now);
  double PerSecond() const { return rate_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> rate_{0};
  std::atomic<int64_t> window_count_{0};
  std::atomic<int64_t> window_start_ns_{0};
};

class Dispatcher {
 public:
  Dispatcher(bus::Bus& bus, RulesCatalog& rules, EventHub& hub, boost::asio::io_context& io,
             const AsyncConfig& config, AsyncMetrics& metrics, Throughput& throughput,
             const Clock& clock);
  void Start();
  void Stop();

 private:
  boost::asio::awaitable<void> Loop();
  // Routes one event: appends to `jobs`/`events` what it must enqueue.
  boost::asio::awaitable<void> Route(const bus::Event& event, std::vector<bus::NewJob>& jobs,
                                     std::vector<bus::Event>& events);

  bus::Bus& bus_;
  RulesCatalog& rules_;
  EventHub& hub_;
  boost::asio::io_context& io_;
  const AsyncConfig config_;
  AsyncMetrics& metrics_;
  Throughput& throughput_;
  const Clock& clock_;
  IdleWaiter idle_;
  std::atomic<bool> stopping_{false};
};

// `template` with every {{dotted.path}} replaced by that field of `event`
// (strings as they are, other values as JSON, missing fields as "").
std::string RenderTemplate(std::string_view template_text, const nlohmann::json& event);

}  // namespace basalt::async
