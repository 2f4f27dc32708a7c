#include "models/router/semaphore.h"

#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

namespace basalt::models {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Permit = AsyncSemaphore::Permit;

asio::awaitable<void> Sleep(milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Acquires, holds the slot for `hold`, records the order it got in.
asio::awaitable<void> Hold(AsyncSemaphore& sem, int id, milliseconds hold, std::vector<int>* order,
                           absl::Status* status) {
  absl::StatusOr<Permit> permit = co_await sem.Acquire(std::chrono::seconds(5));
  *status = permit.status();
  if (!permit.ok()) co_return;
  order->push_back(id);
  co_await Sleep(hold);
}

TEST(AsyncSemaphore, WaitersGetSlotsInArrivalOrder) {
  asio::io_context io;
  AsyncSemaphore sem(2, -1);
  std::vector<int> order;
  std::vector<absl::Status> statuses(5);
  for (int i = 0; i < 5; ++i) {
    asio::co_spawn(io, Hold(sem, i, milliseconds(5), &order, &statuses[i]), asio::detached);
  }
  io.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  for (const auto& s : statuses) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(sem.in_use(), 0);
  EXPECT_EQ(sem.waiting(), 0);
}

TEST(AsyncSemaphore, WaitingIsBoundedByMaxWait) {
  asio::io_context io;
  AsyncSemaphore sem(1, -1);
  absl::StatusOr<Permit> held = absl::UnknownError("unset");
  absl::StatusOr<Permit> late = absl::UnknownError("unset");
  std::chrono::steady_clock::duration waited{};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        held = co_await sem.Acquire(milliseconds(0));
        const auto start = std::chrono::steady_clock::now();
        late = co_await sem.Acquire(milliseconds(20));
        waited = std::chrono::steady_clock::now() - start;
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
  EXPECT_GE(waited, milliseconds(20));
  EXPECT_LT(waited, milliseconds(500));
  EXPECT_EQ(sem.waiting(), 0);
}

TEST(AsyncSemaphore, FullQueueFailsFast) {
  asio::io_context io;
  AsyncSemaphore sem(1, 0);
  absl::StatusOr<Permit> first = absl::UnknownError("unset");
  absl::StatusOr<Permit> second = absl::UnknownError("unset");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        first = co_await sem.Acquire(std::chrono::seconds(5));
        second = co_await sem.Acquire(std::chrono::seconds(5));
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted) << second.status();
  first->Release();
  EXPECT_EQ(sem.in_use(), 0);
}

TEST(AsyncSemaphore, CancelledWaiterLeavesTheQueueAndLosesNoSlot) {
  asio::io_context io;
  AsyncSemaphore sem(1, -1);
  absl::StatusOr<Permit> held = absl::UnknownError("unset");
  int outcome = -1;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        held = co_await sem.Acquire(milliseconds(0));
        auto raced = co_await (sem.Acquire(std::chrono::seconds(5)) || Sleep(milliseconds(10)));
        outcome = static_cast<int>(raced.index());
      },
      asio::detached);
  io.run();
  EXPECT_EQ(outcome, 1);  // the timer won; the waiter was cancelled
  EXPECT_EQ(sem.waiting(), 0);
  held->Release();
  EXPECT_EQ(sem.in_use(), 0);
}

TEST(AsyncSemaphore, ReleaseOnAnotherThreadWakesTheWaiter) {
  asio::io_context holder_io;
  asio::io_context waiter_io;
  AsyncSemaphore sem(1, -1);
  absl::StatusOr<Permit> held = absl::UnknownError("unset");
  absl::StatusOr<Permit> woken = absl::UnknownError("unset");
  asio::co_spawn(
      holder_io, [&]() -> asio::awaitable<void> { held = co_await sem.Acquire(milliseconds(0)); },
      asio::detached);
  holder_io.run();
  ASSERT_TRUE(held.ok());
  asio::co_spawn(
      waiter_io,
      [&]() -> asio::awaitable<void> { woken = co_await sem.Acquire(std::chrono::seconds(5)); },
      asio::detached);
  std::thread waiter([&] { waiter_io.run(); });
  while (sem.waiting() == 0) std::this_thread::sleep_for(milliseconds(1));
  const auto start = std::chrono::steady_clock::now();
  held->Release();  // from this thread, not the waiter's
  waiter.join();
  EXPECT_TRUE(woken.ok()) << woken.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(sem.in_use(), 1);
  woken->Release();
  EXPECT_EQ(sem.in_use(), 0);
}

TEST(AsyncSemaphore, UnlimitedNeverWaits) {
  asio::io_context io;
  AsyncSemaphore sem(0, 0);
  int granted = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::vector<Permit> permits;
        for (int i = 0; i < 100; ++i) {
          absl::StatusOr<Permit> p = co_await sem.Acquire(milliseconds(0));
          if (p.ok()) ++granted;
        }
      },
      asio::detached);
  io.run();
  EXPECT_EQ(granted, 100);
}

}  // namespace
}  // namespace basalt::models
