// Per-call cost of the limits on the model path, single-threaded and with two
// threads (the gateway's two io threads):
//   limits_bench --benchmark_filter=.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/strings.h"
#include "tenancy/limits/bounded_labels.h"
#include "tenancy/limits/budget_ledger.h"
#include "tenancy/limits/concurrency_limiter.h"
#include "tenancy/limits/price_table.h"
#include "tenancy/limits/rate_limiter.h"
#include "tenancy/limits/usage_store.h"

namespace basalt::limits {
namespace {

// Limits high enough that every call is admitted: this measures the path, not refusals.
constexpr RateLimits kRoomy{1'000'000'000, 1'000'000'000'000};

void BM_AdmitAdjust(benchmark::State& state) {
  static RateLimiter limiter(RealClock::Instance());
  const std::string tenant = StrCat("tenant:t", state.thread_index());
  const std::string key = StrCat("key:k", state.thread_index());
  const RateKey keys[] = {{tenant, kRoomy}, {key, kRoomy}};
  for (auto _ : state) {
    RateDecision d = limiter.Admit(keys, 1, 1000);
    benchmark::DoNotOptimize(d);
    limiter.Adjust(keys, -200);
  }
}
BENCHMARK(BM_AdmitAdjust)->Threads(1)->Threads(2);

void BM_ConcurrencyPermit(benchmark::State& state) {
  static ConcurrencyLimiter limiter;
  const std::string key = StrCat("key:k", state.thread_index());
  for (auto _ : state) {
    auto permit = limiter.TryAcquire(key, 1000);
    benchmark::DoNotOptimize(permit);
  }
}
BENCHMARK(BM_ConcurrencyPermit)->Threads(1)->Threads(2);

void BM_ReserveSettle(benchmark::State& state) {
  static BudgetLedger ledger(RealClock::Instance());
  const std::string tenant = StrCat("t", state.thread_index());
  const BudgetCaps caps{int64_t{1} << 60, int64_t{1} << 60};
  for (auto _ : state) {
    auto r = ledger.Reserve(tenant, caps, 5000, 50'000);
    if (r.ok()) ledger.Settle(*r, 1200, 12'000);
  }
}
BENCHMARK(BM_ReserveSettle)->Threads(1)->Threads(2);

void BM_Cost(benchmark::State& state) {
  static const PriceTable table = *PriceTable::Create({{"gpt-4o-mini*", 0.15, 0.6},
                                                       {"gpt-4o*", 2.5, 10},
                                                       {"claude-3-5-sonnet*", 3, 15},
                                                       {"*", 1, 2}});
  for (auto _ : state) {
    auto cost = table.Cost("claude-3-5-sonnet-20241022", 1234, 567);
    benchmark::DoNotOptimize(cost);
  }
}
BENCHMARK(BM_Cost);

void BM_Record(benchmark::State& state) {
  static const std::string path =
      (std::filesystem::temp_directory_path() / StrCat("limits_bench_", getpid(), ".db")).string();
  // Destroyed after the store (constructed before it): removes the files.
  static const struct Cleanup {
    ~Cleanup() {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    }
  } cleanup;
  static std::unique_ptr<UsageStore> store = [] {
    auto s = UsageStore::Open({.path = path}, RealClock::Instance());
    return s.ok() ? std::move(*s) : nullptr;
  }();
  if (store == nullptr) {
    state.SkipWithError("cannot open the usage store");
    return;
  }
  const std::string key = StrCat("k", state.thread_index());
  for (auto _ : state) {
    store->Record(UsageEvent{"tenant", key, "gpt-4o-mini", 0, 1200, 300, 360, false});
  }
}
BENCHMARK(BM_Record)->Threads(1)->Threads(2);

void BM_Label(benchmark::State& state) {
  static BoundedLabels labels(50);
  for (auto _ : state) {
    benchmark::DoNotOptimize(labels.Label("tenant-acme"));
  }
}
BENCHMARK(BM_Label)->Threads(1)->Threads(2);

}  // namespace
}  // namespace basalt::limits

BENCHMARK_MAIN();
