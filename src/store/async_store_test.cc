#include "store/async_store.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/blocking_pool.h"
#include "gtest/gtest.h"
#include "store/memory/memory_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_test_util.h"

namespace basalt {
namespace {

namespace asio = boost::asio;
using ::basalt::testing::TempDir;

// Spawns `coro` on `io`, runs the loop to completion, and fails the test if the
// coroutine threw (it should not: everything returns Status).
void RunToCompletion(asio::io_context& io, asio::awaitable<void> coro) {
  bool done = false;
  asio::co_spawn(io, std::move(coro), [&done](std::exception_ptr e) {
    EXPECT_FALSE(e) << "coroutine threw";
    done = true;
  });
  io.run();
  EXPECT_TRUE(done);
}

TEST(AsyncStoreTest, RunsCallsOnThePoolAndResumesOnTheIoThread) {
  TempDir dir;
  auto sqlite = SqliteStore::Open(dir.File("a.db"), {.busy_timeout_ms = 5000, .pool_size = 2});
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  BlockingPool pool(2, 64);
  AsyncStore store(**sqlite, pool);
  asio::io_context io;
  const std::thread::id io_thread = std::this_thread::get_id();

  RunToCompletion(io, [&]() -> asio::awaitable<void> {
    absl::StatusOr<Record> created =
        co_await store.Create("t1", "jobs", "a", std::string(R"({"n":1})"));
    EXPECT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(std::this_thread::get_id(), io_thread);

    absl::StatusOr<Record> updated = co_await store.Update("t1", "jobs", "a", "2", 1);
    EXPECT_TRUE(updated.ok()) << updated.status();
    EXPECT_EQ(updated->version, 2);
    absl::StatusOr<Record> stale = co_await store.Update("t1", "jobs", "a", "3", 1);
    EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);

    absl::StatusOr<Record> got = co_await store.Get("t1", "jobs", "a");
    EXPECT_TRUE(got.ok());
    EXPECT_EQ(got->body, "2");
    EXPECT_EQ((co_await store.Get("t2", "jobs", "a")).status().code(), absl::StatusCode::kNotFound);

    absl::StatusOr<RecordPage> page = co_await store.List("t1", "jobs");
    EXPECT_TRUE(page.ok());
    EXPECT_EQ(page->records.size(), 1u);
    EXPECT_TRUE((co_await store.Create("t1", "jobs", "b", "{}")).ok());
    page = co_await store.List("t1", "jobs", std::string("a"), 1);
    EXPECT_TRUE(page.ok());
    EXPECT_EQ(page->records.size(), 1u);
    EXPECT_EQ(page->records[0].id, "b");
    EXPECT_EQ((co_await store.List("t1", "jobs", "", 0)).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(*(co_await store.AdminCountAllTenants("jobs")), 2);
    EXPECT_TRUE((co_await store.Ping()).ok());
    EXPECT_TRUE((co_await store.Delete("t1", "jobs", "a")).ok());
    EXPECT_EQ((co_await store.Delete("t1", "jobs", "a")).code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(std::this_thread::get_id(), io_thread);
  }());
}

TEST(AsyncStoreTest, ManyConcurrentCoroutinesAllLand) {
  TempDir dir;
  auto sqlite = SqliteStore::Open(dir.File("a.db"), {.busy_timeout_ms = 5000, .pool_size = 2});
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  BlockingPool pool(2, 64);
  AsyncStore store(**sqlite, pool);
  asio::io_context io;
  constexpr int kCoroutines = 20;
  int ok = 0;
  for (int i = 0; i < kCoroutines; ++i) {
    asio::co_spawn(
        io,
        [&store, &ok, i]() -> asio::awaitable<void> {
          // Temporaries as arguments: AsyncStore keeps its own copies.
          absl::StatusOr<Record> r =
              co_await store.Create("t", "jobs", absl::StrCat("id", i), "{}");
          if (r.ok()) ++ok;  // only the io thread touches `ok`
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(ok, kCoroutines);
  EXPECT_EQ(*(*sqlite)->AdminCountAllTenants("jobs"), kCoroutines);
}

TEST(AsyncStoreTest, FullPoolAnswersResourceExhaustedWithoutRunningTheCall) {
  MemoryStore memory;
  BlockingPool pool(1, 1);
  AsyncStore store(memory, pool);
  asio::io_context io;
  absl::Notification release;
  std::optional<absl::Status> blocker_result;
  std::optional<absl::Status> rejected;

  // The first coroutine occupies the pool's only slot until released.
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        blocker_result = co_await pool.Run([&] {
          release.WaitForNotification();
          return absl::OkStatus();
        });
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // Spawned second, so it runs after the first has taken the slot.
        absl::StatusOr<Record> r = co_await store.Create("t", "jobs", "a", "{}");
        rejected = r.status();
        release.Notify();
      },
      asio::detached);
  io.run();

  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(blocker_result.has_value());
  EXPECT_TRUE(blocker_result->ok());
  // The rejected call never ran.
  EXPECT_EQ(memory.Get("t", "jobs", "a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pool.Pending(), 0u);
}

}  // namespace
}  // namespace basalt
