#include "tenancy/limits/usage_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "tenancy/limits/calendar.h"

namespace basalt::limits {
namespace {

using std::chrono::milliseconds;

// 2026-11-30T22:30:00Z.
constexpr int64_t kStartMs = 1'796'077'800'000;

class UsageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           StrCat("limits_usage_", getpid(), "_",
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<UsageStore> Open(absl::Duration interval = absl::ZeroDuration()) {
    auto store = UsageStore::Open(
        {.path = (dir_ / "usage.db").string(), .flush_interval = interval}, clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  FakeClock clock_{std::chrono::system_clock::time_point(milliseconds(kStartMs))};
  std::filesystem::path dir_;
};

UsageEvent Event(std::string_view tenant, std::string_view key, std::string_view model, int64_t in,
                 int64_t out, int64_t cost, bool error = false) {
  return UsageEvent{tenant, key, model, 0, in, out, cost, error};
}

TEST_F(UsageStoreTest, AggregatesFlushesAndQueriesByHourAndDay) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  store->Record(Event("t1", "k1", "m1", 10, 20, 30));
  store->Record(Event("t1", "k1", "m1", 1, 2, 3, /*error=*/true));
  store->Record(Event("t1", "k2", "m2", 100, 200, 300));
  store->Record(Event("t2", "k9", "m1", 5, 5, 5));
  ASSERT_TRUE(store->Flush().ok());
  clock_.Advance(std::chrono::hours(1));  // 23:30, same day, next hour
  store->Record(Event("t1", "k1", "m1", 1000, 0, 7));
  clock_.Advance(std::chrono::hours(1));  // 00:30 on Dec 1: next day (not flushed yet)
  store->Record(Event("t1", "k1", "m2", 1, 1, 1));

  const int64_t hour0 = HourStartMs(kStartMs);
  UsageQuery q{.tenant = "t1", .from_ms = kStartMs, .to_ms = kStartMs + 3 * kHourMs};
  auto hourly = store->Query(q);
  ASSERT_TRUE(hourly.ok()) << hourly.status();
  ASSERT_EQ(hourly->size(), 3u);
  EXPECT_EQ((*hourly)[0].bucket_start_ms, hour0);
  EXPECT_EQ((*hourly)[0].counters, (UsageCounters{3, 111, 222, 333, 1}));
  EXPECT_EQ((*hourly)[0].tenant, "");  // not grouped
  EXPECT_EQ((*hourly)[1].bucket_start_ms, hour0 + kHourMs);
  EXPECT_EQ((*hourly)[1].counters, (UsageCounters{1, 1000, 0, 7, 0}));
  EXPECT_EQ((*hourly)[2].bucket_start_ms, hour0 + 2 * kHourMs);

  q.bucket = UsageBucket::kDay;
  q.by_model = true;
  auto daily = store->Query(q);
  ASSERT_TRUE(daily.ok()) << daily.status();
  ASSERT_EQ(daily->size(), 3u);
  EXPECT_EQ((*daily)[0].bucket_start_ms, DayStartMs(kStartMs));
  EXPECT_EQ((*daily)[0].model, "m1");
  EXPECT_EQ((*daily)[0].counters, (UsageCounters{3, 1011, 22, 40, 1}));
  EXPECT_EQ((*daily)[1].model, "m2");
  EXPECT_EQ((*daily)[1].counters, (UsageCounters{1, 100, 200, 300, 0}));
  EXPECT_EQ((*daily)[2].bucket_start_ms, DayStartMs(kStartMs) + kDayMs);
  EXPECT_EQ((*daily)[2].model, "m2");

  q.by_model = false;
  q.by_key = true;
  q.to_ms = hour0 + kHourMs;  // the first hour only
  auto by_key = store->Query(q);
  ASSERT_TRUE(by_key.ok());
  ASSERT_EQ(by_key->size(), 2u);
  EXPECT_EQ((*by_key)[0].key, "k1");
  EXPECT_EQ((*by_key)[0].counters.requests, 2);
  EXPECT_EQ((*by_key)[1].key, "k2");
}

TEST_F(UsageStoreTest, TenantQueriesAreScopedAdminQueriesAreNot) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  store->Record(Event("t1", "k", "m", 1, 1, 1));
  store->Record(Event("t2", "k", "m", 2, 2, 2));
  store->Record(Event("t2", "k", "m", 2, 2, 2));
  UsageQuery q{.tenant = "", .from_ms = kStartMs, .to_ms = kStartMs + kHourMs};
  EXPECT_EQ(store->Query(q).status().code(), absl::StatusCode::kInvalidArgument);
  q.by_tenant = true;
  auto all = store->AdminQuery(q);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].tenant, "t1");
  EXPECT_EQ((*all)[1].tenant, "t2");
  EXPECT_EQ((*all)[1].counters.requests, 2);
  q.tenant = "t1";
  auto one = store->Query(q);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].tenant, "t1");
  auto top = store->TopTenants(kStartMs, kStartMs + kHourMs, 1);
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(*top, std::vector<std::string>{"t2"});
  q.to_ms = q.from_ms;
  EXPECT_EQ(store->Query(q).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(UsageStoreTest, RestartKeepsMonthToDate) {
  const int64_t month = UtcMonthOf(kStartMs).start_ms;
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    store->Record(Event("t", "k", "m", 100, 50, 1234));
    ASSERT_TRUE(store->Flush().ok());
    store->Record(Event("t", "k", "m", 10, 5, 66));
    store->Record(Event("other", "k", "m", 1, 1, 1));
    // Last month's usage does not count.
    UsageEvent old = Event("t", "k", "m", 1'000'000, 0, 1'000'000);
    old.time_ms = month - 1;
    store->Record(old);
  }  // destructor flushes
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto mtd = store->MonthToDate("t", month);
  ASSERT_TRUE(mtd.ok()) << mtd.status();
  EXPECT_EQ(mtd->tokens, 165);
  EXPECT_EQ(mtd->cost_micros, 1300);
  EXPECT_EQ(mtd->requests, 2);
  auto none = store->MonthToDate("nobody", month);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->tokens, 0);
}

TEST_F(UsageStoreTest, BackgroundFlushAndConcurrentRecords) {
  auto store = Open(absl::Milliseconds(20));
  ASSERT_NE(store, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = StrCat("k", t);
      for (int i = 0; i < 5000; ++i) store->Record(Event("t", key, "m", 1, 2, 3));
    });
  }
  for (auto& t : threads) t.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the flusher run
  auto rows = store->Query({.tenant = "t", .from_ms = kStartMs, .to_ms = kStartMs + kHourMs});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].counters, (UsageCounters{20'000, 20'000, 40'000, 60'000, 0}));
  EXPECT_EQ(store->FlushFailuresForTest(), 0);
}

TEST_F(UsageStoreTest, OpenFailsWithThePath) {
  auto store = UsageStore::Open({.path = (dir_ / "missing" / "usage.db").string()}, clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(store.status().message()).find("missing"), std::string::npos);
}

}  // namespace
}  // namespace basalt::limits
