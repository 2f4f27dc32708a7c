#include "tenancy/limits/budget_ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <random>
#include <thread>
#include <vector>

#include "core/status.h"

namespace basalt::limits {
namespace {

using std::chrono::milliseconds;

// 2026-11-30T23:00:00Z: one hour before the month ends.
FakeClock LateNovemberClock() {
  return FakeClock(std::chrono::system_clock::time_point(milliseconds(1'796'079'600'000)));
}

TEST(BudgetLedgerTest, ReserveSettleRelease) {
  FakeClock clock = LateNovemberClock();
  BudgetLedger ledger(clock);
  const BudgetCaps caps{1000, 0};
  auto r = ledger.Reserve("t", caps, 600, 0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ledger.Snapshot("t").reserved_tokens, 600);
  auto refused = ledger.Reserve("t", caps, 401, 0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorCodeOf(refused.status()), "budget_exceeded");
  const std::string message(refused.status().message());
  EXPECT_NE(message.find("token budget"), std::string::npos) << message;
  EXPECT_NE(message.find("left 400"), std::string::npos) << message;
  EXPECT_NE(message.find("2026-12-01T00:00:00Z"), std::string::npos) << message;
  EXPECT_TRUE(ledger.Reserve("t", caps, 400, 0).ok());  // exactly fits; released at once
  ledger.Settle(*r, 250, 0);
  EXPECT_FALSE(r->active());
  BudgetUsage u = ledger.Snapshot("t");
  EXPECT_EQ(u.spent_tokens, 250);
  EXPECT_EQ(u.reserved_tokens, 0);
  ledger.Settle(*r, 999, 0);  // already settled: no-op
  EXPECT_EQ(ledger.Snapshot("t").spent_tokens, 250);
  auto again = ledger.Reserve("t", caps, 750, 0);
  ASSERT_TRUE(again.ok());
  ledger.Release(*again);
  EXPECT_EQ(ledger.Snapshot("t").reserved_tokens, 0);
  EXPECT_EQ(ledger.Snapshot("t").spent_tokens, 250);
}

TEST(BudgetLedgerTest, CostBudgetMessageInDollars) {
  FakeClock clock = LateNovemberClock();
  BudgetLedger ledger(clock);
  const BudgetCaps caps{0, 5'000'000};  // $5
  auto r = ledger.Reserve("t", caps, 10, 4'000'000);
  ASSERT_TRUE(r.ok());
  auto refused = ledger.Reserve("t", caps, 10, 1'500'000);
  ASSERT_FALSE(refused.ok());
  const std::string message(refused.status().message());
  EXPECT_NE(message.find("cost budget"), std::string::npos) << message;
  EXPECT_NE(message.find("left $1.000000"), std::string::npos) << message;
  EXPECT_NE(message.find("$1.500000"), std::string::npos) << message;
}

TEST(BudgetLedgerTest, DestructionReleasesAndMoveKeepsOneHold) {
  FakeClock clock = LateNovemberClock();
  BudgetLedger ledger(clock);
  const BudgetCaps caps{100, 0};
  {
    auto r = ledger.Reserve("t", caps, 100, 0);
    ASSERT_TRUE(r.ok());
    Reservation moved = std::move(*r);
    EXPECT_FALSE(r->active());
    EXPECT_TRUE(moved.active());
    EXPECT_FALSE(ledger.Reserve("t", caps, 1, 0).ok());
    Reservation other;
    other = std::move(moved);
    EXPECT_EQ(ledger.Snapshot("t").reserved_tokens, 100);
  }  // the request was cancelled: nothing spent
  BudgetUsage u = ledger.Snapshot("t");
  EXPECT_EQ(u.reserved_tokens, 0);
  EXPECT_EQ(u.spent_tokens, 0);
}

TEST(BudgetLedgerTest, ReservationMayOutliveTheLedger) {
  FakeClock clock = LateNovemberClock();
  Reservation r;
  {
    BudgetLedger ledger(clock);
    auto got = ledger.Reserve("t", {}, 1, 1);
    ASSERT_TRUE(got.ok());
    r = std::move(*got);
  }
  EXPECT_TRUE(r.active());  // destroyed below without touching the ledger
}

TEST(BudgetLedgerTest, OvershootIsRecordedAndCounted) {
  FakeClock clock = LateNovemberClock();
  BudgetLedger ledger(clock);
  const BudgetCaps caps{1000, 0};
  auto r = ledger.Reserve("t", caps, 900, 0);
  ASSERT_TRUE(r.ok());
  ledger.Settle(*r, 1200, 0);
  EXPECT_EQ(ledger.Overshoots(), 1);
  EXPECT_EQ(ledger.Snapshot("t").spent_tokens, 1200);
  // Over the cap: everything is refused until the month ends.
  EXPECT_FALSE(ledger.Reserve("t", caps, 0, 0).ok());
  EXPECT_TRUE(ledger.Reserve("t", {0, 0}, 1, 0).ok());  // unless the cap is lifted
}

TEST(BudgetLedgerTest, MonthRolloverResetsSpentAndKeepsReservations) {
  FakeClock clock = LateNovemberClock();
  BudgetLedger ledger(clock);
  const BudgetCaps caps{1000, 0};
  auto spent = ledger.Reserve("t", caps, 700, 0);
  ASSERT_TRUE(spent.ok());
  ledger.Settle(*spent, 700, 0);
  auto in_flight = ledger.Reserve("t", caps, 300, 0);
  ASSERT_TRUE(in_flight.ok());
  EXPECT_FALSE(ledger.Reserve("t", caps, 1, 0).ok());
  clock.Advance(std::chrono::hours(1));  // 2026-12-01T00:00:00Z
  BudgetUsage u = ledger.Snapshot("t");
  EXPECT_EQ(FormatUtc(u.month.start_ms), "2026-12-01T00:00:00Z");
  EXPECT_EQ(u.spent_tokens, 0);
  EXPECT_EQ(u.reserved_tokens, 300);  // still in flight, counts in December
  EXPECT_TRUE(ledger.Reserve("t", caps, 700, 0).ok());
  EXPECT_FALSE(ledger.Reserve("t", caps, 701, 0).ok());
  ledger.Settle(*in_flight, 200, 0);
  EXPECT_EQ(ledger.Snapshot("t").spent_tokens, 200);
}

TEST(BudgetLedgerTest, LoadSeedsTheCurrentMonthOnly) {
  FakeClock clock = LateNovemberClock();
  BudgetLedger ledger(clock);
  const MonthSpan nov = UtcMonthOf(ToUnixMs(clock.Now()));
  EXPECT_FALSE(ledger.Load("t", nov.start_ms - 1, 5, 5));
  EXPECT_FALSE(ledger.Load("t", UtcMonthOf(nov.start_ms - 1).start_ms, 5, 5));
  EXPECT_TRUE(ledger.Load("t", nov.start_ms, 900, 40));
  BudgetUsage u = ledger.Snapshot("t");
  EXPECT_EQ(u.spent_tokens, 900);
  EXPECT_EQ(u.spent_cost_micros, 40);
  EXPECT_FALSE(ledger.Reserve("t", {1000, 0}, 101, 0).ok());
  EXPECT_TRUE(ledger.Reserve("t", {1000, 0}, 100, 0).ok());
  EXPECT_FALSE(ledger.Reserve("t", {0, 50}, 0, 11).ok());
}

TEST(BudgetLedgerTest, RejectsNegativeAmounts) {
  FakeClock clock;
  BudgetLedger ledger(clock);
  EXPECT_EQ(ledger.Reserve("t", {}, -1, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger.Reserve("t", {}, 0, -1).status().code(), absl::StatusCode::kInvalidArgument);
}

// 200 threads reserve the worst case at once against a budget of exactly 50
// worst cases and hold until all have tried: exactly 50 are admitted. Then
// they settle a random actual <= worst and a second wave gets exactly what
// the settlements freed.
TEST(BudgetLedgerTest, TwoHundredConcurrentReservationsAdmitExactlyWhatFits) {
  FakeClock clock = LateNovemberClock();
  BudgetLedger ledger(clock);
  constexpr int kThreads = 200;
  constexpr int64_t kWorstCost = 10'000;
  constexpr int64_t kWorstTokens = 1'000;
  const BudgetCaps caps{0, 50 * kWorstCost};
  std::atomic<int64_t> settled{0};
  int64_t spent_before = 0;

  for (int wave = 0; wave < 2; ++wave) {
    const int64_t expected = (caps.max_cost_micros_per_month - spent_before) / kWorstCost;
    std::atomic<int> admitted{0};
    std::barrier all_tried(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(wave * 1000 + t);
        auto r = ledger.Reserve("t", caps, kWorstTokens, kWorstCost);
        if (r.ok()) admitted.fetch_add(1);
        all_tried.arrive_and_wait();
        if (!r.ok()) return;
        const int64_t actual = std::uniform_int_distribution<int64_t>(0, kWorstCost)(rng);
        ledger.Settle(*r, actual / 10, actual);
        settled.fetch_add(actual);
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(admitted.load(), expected) << "wave " << wave;
    BudgetUsage u = ledger.Snapshot("t");
    EXPECT_EQ(u.reserved_cost_micros, 0);
    EXPECT_EQ(u.spent_cost_micros, settled.load());
    EXPECT_LE(u.spent_cost_micros, caps.max_cost_micros_per_month);
    spent_before = u.spent_cost_micros;
  }
  EXPECT_EQ(ledger.Overshoots(), 0);
}

// Free-running: 200 threads reserve and settle (or cancel) as fast as they
// can until the budget cannot hold another worst case. Spent + reserved
// never exceeds the cap, and in the end the budget is used up to within one
// worst case.
TEST(BudgetLedgerTest, TwoHundredThreadsNeverOvershootAndUseTheBudgetUp) {
  FakeClock clock = LateNovemberClock();
  BudgetLedger ledger(clock);
  constexpr int kThreads = 200;
  constexpr int64_t kWorst = 1'000;
  const BudgetCaps caps{50 * kWorst, 50 * kWorst};
  std::atomic<bool> over{false};
  std::atomic<int64_t> settled_tokens{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int attempt = 0; attempt < 10'000; ++attempt) {
        auto r = ledger.Reserve("t", caps, kWorst, kWorst);
        if (!r.ok()) {
          BudgetUsage u = ledger.Snapshot("t");
          if (u.reserved_tokens == 0 && caps.max_tokens_per_month - u.spent_tokens < kWorst) return;
          std::this_thread::yield();
          continue;
        }
        BudgetUsage u = ledger.Snapshot("t");
        if (u.spent_tokens + u.reserved_tokens > caps.max_tokens_per_month) over = true;
        if (rng() % 4 == 0) {
          ledger.Release(*r);  // the call failed: nothing spent, budget freed
          continue;
        }
        const int64_t actual = std::uniform_int_distribution<int64_t>(1, kWorst)(rng);
        ledger.Settle(*r, actual, actual);
        settled_tokens.fetch_add(actual);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(over.load());
  BudgetUsage u = ledger.Snapshot("t");
  EXPECT_EQ(u.reserved_tokens, 0);
  EXPECT_EQ(u.spent_tokens, settled_tokens.load());
  EXPECT_LE(u.spent_tokens, caps.max_tokens_per_month);
  EXPECT_LT(caps.max_tokens_per_month - u.spent_tokens, kWorst);
}

TEST(BudgetLedgerTest, ReleaseOnFailureFreesBudgetForOthers) {
  FakeClock clock = LateNovemberClock();
  BudgetLedger ledger(clock);
  const BudgetCaps caps{0, 100};
  auto a = ledger.Reserve("t", caps, 0, 100);
  ASSERT_TRUE(a.ok());
  std::atomic<bool> b_admitted{false};
  std::thread waiter([&] {
    while (true) {
      auto b = ledger.Reserve("t", caps, 0, 100);
      if (b.ok()) {
        b_admitted = true;
        return;
      }
      std::this_thread::yield();
    }
  });
  ledger.Release(*a);  // the upstream call failed
  waiter.join();
  EXPECT_TRUE(b_admitted.load());
  EXPECT_EQ(ledger.Snapshot("t").spent_cost_micros, 0);
}

TEST(BudgetLedgerTest, TenantsAreIndependent) {
  FakeClock clock = LateNovemberClock();
  BudgetLedger ledger(clock);
  auto a = ledger.Reserve("a", {10, 0}, 10, 0);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(ledger.Reserve("a", {10, 0}, 1, 0).ok());
  EXPECT_TRUE(ledger.Reserve("b", {10, 0}, 10, 0).ok());
}

}  // namespace
}  // namespace basalt::limits
