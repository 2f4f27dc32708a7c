// LeaseLoop: the worker skeleton shared by the model worker and the webhook
// deliverer. On one io_context it keeps up to `slots` jobs of one queue running:
// it leases as many jobs as it has free slots, runs `handler` for each as its
// own coroutine, and when the queue is empty waits for the bus's change
// notification (this process's commits) or the poll interval (other
// processes'). Its lease calls are writes, so they group-commit with the
// submissions around them.
//
// Drain (SIGTERM): Stop() makes the loop lease nothing more and sets the drain
// signal every handler watches; handlers finish or release their leases, and
// Busy() turns false when the last one has returned.
//
// Thread-safety: Start, Stop and Busy may be called from any thread; the loop
// and its handlers run on the io_context given.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "async/idle_waiter.h"
#include "bus/bus.h"

namespace basalt::async {

struct LeaseLoopOptions {
  std::string queue;
  int slots = 4;
  std::chrono::milliseconds visibility{30000};
  std::chrono::milliseconds poll_interval{200};
  bus::LeaseEvents on_lease;  // events appended as each job is leased
  bus::LeaseEvents on_dead;   // events for jobs whose last lease ran out
};

class LeaseLoop {
 public:
  // handler(job, draining): runs one leased job to its end. `draining` turns
  // true on Stop(); the handler should then release the job if it cannot finish.
  using Handler =
      std::function<boost::asio::awaitable<void>(bus::Job job, const std::atomic<bool>& draining)>;

  LeaseLoop(bus::Bus& bus, boost::asio::io_context& io, LeaseLoopOptions options, Handler handler);

  void Start();
  void Stop();
  bool Busy() const { return running_.load() > 0 || looping_.load(); }
  const std::atomic<bool>& draining() const { return *draining_; }

 private:
  boost::asio::awaitable<void> Loop();

  bus::Bus& bus_;
  boost::asio::io_context& io_;
  LeaseLoopOptions options_;
  Handler handler_;
  IdleWaiter idle_;
  std::shared_ptr<std::atomic<bool>> draining_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<int> running_{0};
  std::atomic<bool> looping_{false};
};

}  // namespace basalt::async
