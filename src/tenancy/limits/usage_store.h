// UsageStore: usage metering per tenant, key (principal id) and model, in
// hourly buckets on the store's own SQLite file.
//
// Record() is for io threads: it adds the event to an in-memory aggregate
// (sharded, a short lock, no allocation for a bucket seen before) and never
// touches the disk. A background thread flushes the aggregates every
// `flush_interval` in one transaction, upserting into
//   usage_hourly(tenant, key, model, hour_start_ms) -> requests, input_tokens,
//                output_tokens, cost_micros, errors   (counters summed)
// and Flush() / the destructor do the same on demand. A flush that fails puts
// its aggregates back, so nothing is lost while the process lives; a crash
// loses at most the last interval. The file uses WAL with synchronous=NORMAL:
// a power loss may also lose the last commits, accepted for metering.
//
// Queries block (run them on the blocking pool). Each first flushes what is
// in memory, so it sees every event recorded before the call.
//
// Thread-safety: every method is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/clock.h"

struct sqlite3;

namespace basalt::limits {

struct UsageEvent {
  std::string_view tenant;
  std::string_view key;  // principal id
  std::string_view model;
  int64_t time_ms = 0;  // when the call completed; 0 = the clock's now
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cost_micros = 0;
  bool error = false;  // counted as a request and an error
};

struct UsageCounters {
  int64_t requests = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cost_micros = 0;
  int64_t errors = 0;
  void Add(const UsageCounters& o);
  bool operator==(const UsageCounters&) const = default;
};

enum class UsageBucket { kHour, kDay };

struct UsageQuery {
  std::string tenant;   // required by Query; AdminQuery: empty = all tenants
  int64_t from_ms = 0;  // rows whose UTC hour starts in [floor_hour(from_ms), to_ms)
  int64_t to_ms = 0;
  UsageBucket bucket = UsageBucket::kHour;  // kDay: UTC days
  bool by_tenant = false;                   // group-by fields; ungrouped ones are ""
  bool by_key = false;
  bool by_model = false;
  int64_t limit = 10'000;  // rows at most
};

struct UsageRow {
  int64_t bucket_start_ms = 0;
  std::string tenant;
  std::string key;
  std::string model;
  UsageCounters counters;
};

struct MonthUsage {
  int64_t tokens = 0;  // input + output
  int64_t cost_micros = 0;
  int64_t requests = 0;
};

class UsageStore {
 public:
  struct Options {
    std::string path;  // the SQLite file, created if missing
    // Background flush period; zero = no background thread (tests).
    absl::Duration flush_interval = absl::Seconds(1);
    int shards = 16;
  };

  // Opens the file and creates the schema. kUnavailable naming the path when
  // it cannot be opened, kInternal when the schema cannot be created.
  static absl::StatusOr<std::unique_ptr<UsageStore>> Open(Options options, const Clock& clock);
  ~UsageStore();  // stops the flusher and flushes one last time
  UsageStore(const UsageStore&) = delete;
  UsageStore& operator=(const UsageStore&) = delete;

  // Adds one call to the in-memory aggregate. Never blocks on I/O.
  void Record(const UsageEvent& event);

  // Writes the in-memory aggregates now. On error they stay in memory for the
  // next flush.
  absl::Status Flush();

  // Rows for one tenant (empty tenant: kInvalidArgument), ordered by bucket,
  // then tenant, key, model.
  absl::StatusOr<std::vector<UsageRow>> Query(const UsageQuery& query);
  // The same for operators: an empty tenant spans all tenants.
  absl::StatusOr<std::vector<UsageRow>> AdminQuery(const UsageQuery& query);

  // A tenant's totals for the UTC month starting at `month_start_ms`, to seed
  // BudgetLedger::Load at start-up.
  absl::StatusOr<MonthUsage> MonthToDate(std::string_view tenant, int64_t month_start_ms);

  // Up to `n` tenants with the most requests in [from_ms, to_ms), most first
  // (ties by name), to seed BoundedLabels.
  absl::StatusOr<std::vector<std::string>> TopTenants(int64_t from_ms, int64_t to_ms, size_t n);

  // Background flushes that failed since start.
  int64_t FlushFailuresForTest() const;

 private:
  struct Shard;
  struct Aggregate;
  UsageStore(Options options, const Clock& clock, sqlite3* db);
  absl::Status FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status WriteLocked(const std::vector<Aggregate>& rows)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  void Merge(std::vector<Aggregate> rows);
  absl::StatusOr<std::vector<UsageRow>> Run(const UsageQuery& query);
  void FlushLoop();

  const Options options_;
  const Clock& clock_;
  std::unique_ptr<Shard[]> shards_;

  // Serialises flushes and queries on the one connection.
  mutable absl::Mutex db_mu_;
  sqlite3* db_ ABSL_GUARDED_BY(db_mu_);
  int64_t flush_failures_ ABSL_GUARDED_BY(db_mu_) = 0;

  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread flusher_;
};

}  // namespace basalt::limits
