#include "core/blocking_pool.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

namespace basalt {
namespace {

namespace asio = boost::asio;

TEST(BlockingPool, RunsOffTheIoThreadAndResumesOnIt) {
  BlockingPool pool(2, 16);
  asio::io_context ioc;
  const auto io_thread = std::this_thread::get_id();
  std::thread::id work_thread, resumed_thread;
  absl::StatusOr<int> result;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    result = co_await pool.Run([&]() -> absl::StatusOr<int> {
      work_thread = std::this_thread::get_id();
      return 42;
    });
    resumed_thread = std::this_thread::get_id();
  }, asio::detached);
  ioc.run();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 42);
  EXPECT_NE(work_thread, io_thread);
  EXPECT_EQ(resumed_thread, io_thread);
  EXPECT_EQ(pool.Pending(), 0u);
}

TEST(BlockingPool, OwningCapturesSurviveTheHop) {
  BlockingPool pool(1, 4);
  asio::io_context ioc;
  absl::StatusOr<std::string> result;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    std::string text(100, 'x');  // heap-allocated: a double free would show under ASan
    auto work = [text = std::move(text)]() -> absl::StatusOr<std::string> { return text + "!"; };
    result = co_await pool.Run(std::move(work));
  }, asio::detached);
  ioc.run();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->size(), 101u);
}

TEST(BlockingPool, RefusesBeyondCapacity) {
  BlockingPool pool(1, 2);
  asio::io_context ioc;
  std::atomic<bool> release{false};
  std::vector<absl::Status> results(3);
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(ioc, [&, i]() -> asio::awaitable<void> {
      results[i] = co_await pool.Run([&]() -> absl::Status {
        while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return absl::OkStatus();
      });
      if (i == 2) release = true;  // the refused one answers at once and frees the others
    }, asio::detached);
  }
  ioc.run();
  EXPECT_TRUE(results[0].ok());
  EXPECT_TRUE(results[1].ok());
  EXPECT_EQ(results[2].code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace basalt
