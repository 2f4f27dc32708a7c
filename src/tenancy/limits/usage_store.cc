#include "tenancy/limits/usage_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "core/log.h"
#include "core/strings.h"
#include "tenancy/limits/calendar.h"

namespace basalt::limits {
namespace {

struct AggView {
  absl::string_view tenant, key, model;
  int64_t hour_ms;
};

struct AggKey {
  std::string tenant, key, model;
  int64_t hour_ms;
};

AggView View(const AggView& v) { return v; }
AggView View(const AggKey& k) { return AggView{k.tenant, k.key, k.model, k.hour_ms}; }

struct AggHash {
  using is_transparent = void;
  template <class K>
  size_t operator()(const K& k) const {
    const AggView v = View(k);
    return absl::Hash<
        std::tuple<absl::string_view, absl::string_view, absl::string_view, int64_t>>{}(
        std::tuple(v.tenant, v.key, v.model, v.hour_ms));
  }
};

struct AggEq {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    const AggView x = View(a), y = View(b);
    return x.hour_ms == y.hour_ms && x.tenant == y.tenant && x.key == y.key && x.model == y.model;
  }
};

// A prepared statement, finalised on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  absl::Status status(std::string_view what) const {
    return rc_ == SQLITE_OK ? absl::OkStatus() : Error(what);
  }
  absl::Status Error(std::string_view what) const {
    return absl::InternalError(StrCat("usage store: ", what, ": ", sqlite3_errmsg(db_)));
  }
  sqlite3_stmt* get() const { return stmt_; }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data() ? v.data() : "", static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
  }
  int Step() { return sqlite3_step(stmt_); }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
             : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) == SQLITE_OK) return absl::OkStatus();
  absl::Status s = absl::InternalError(StrCat("usage store: ", sql, ": ", err ? err : "?"));
  sqlite3_free(err);
  return s;
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS usage_hourly(
  tenant TEXT NOT NULL,
  "key" TEXT NOT NULL,
  model TEXT NOT NULL,
  hour_start_ms INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_micros INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  PRIMARY KEY(tenant, hour_start_ms, "key", model)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS usage_hourly_by_hour ON usage_hourly(hour_start_ms);
)sql";

}  // namespace

void UsageCounters::Add(const UsageCounters& o) {
  requests += o.requests;
  input_tokens += o.input_tokens;
  output_tokens += o.output_tokens;
  cost_micros += o.cost_micros;
  errors += o.errors;
}

struct UsageStore::Aggregate {
  AggKey key;
  UsageCounters counters;
};

struct UsageStore::Shard {
  absl::Mutex mu;
  absl::flat_hash_map<AggKey, UsageCounters, AggHash, AggEq> map ABSL_GUARDED_BY(mu);
};

absl::StatusOr<std::unique_ptr<UsageStore>> UsageStore::Open(Options options, const Clock& clock) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(options.path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = absl::UnavailableError(
        StrCat("usage store: cannot open ", options.path, ": ", db ? sqlite3_errmsg(db) : "?"));
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", kSchema}) {
    absl::Status s = Exec(db, sql);
    if (!s.ok()) {
      sqlite3_close(db);
      return s;
    }
  }
  options.shards = std::max(options.shards, 1);
  return std::unique_ptr<UsageStore>(new UsageStore(std::move(options), clock, db));
}

UsageStore::UsageStore(Options options, const Clock& clock, sqlite3* db)
    : options_(std::move(options)),
      clock_(clock),
      shards_(std::make_unique<Shard[]>(options_.shards)),
      db_(db) {
  if (options_.flush_interval > absl::ZeroDuration()) {
    flusher_ = std::thread([this] { FlushLoop(); });
  }
}

UsageStore::~UsageStore() {
  {
    absl::MutexLock lock(&stop_mu_);
    stop_ = true;
  }
  if (flusher_.joinable()) flusher_.join();
  absl::MutexLock lock(&db_mu_);
  absl::Status s = FlushLocked();
  if (!s.ok()) log::Error("usage store: final flush failed", {{"error", s.ToString()}});
  sqlite3_close(db_);
}

void UsageStore::FlushLoop() {
  while (true) {
    {
      absl::MutexLock lock(&stop_mu_);
      stop_mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.flush_interval);
      if (stop_) return;
    }
    absl::Status s = Flush();
    if (!s.ok()) log::Warn("usage store: flush failed; retrying", {{"error", s.ToString()}});
  }
}

void UsageStore::Record(const UsageEvent& e) {
  const int64_t time_ms = e.time_ms != 0 ? e.time_ms : ToUnixMs(clock_.Now());
  const AggView view{ToAbsl(e.tenant), ToAbsl(e.key), ToAbsl(e.model), HourStartMs(time_ms)};
  const UsageCounters add{1, e.input_tokens, e.output_tokens, e.cost_micros, e.error ? 1 : 0};
  Shard& s = shards_[AggHash{}(view) % options_.shards];
  absl::MutexLock lock(&s.mu);
  auto it = s.map.find(view);
  if (it == s.map.end()) {
    it = s.map
             .emplace(AggKey{std::string(e.tenant), std::string(e.key), std::string(e.model),
                             view.hour_ms},
                      UsageCounters{})
             .first;
  }
  it->second.Add(add);
}

void UsageStore::Merge(std::vector<Aggregate> rows) {
  for (Aggregate& row : rows) {
    Shard& s = shards_[AggHash{}(row.key) % options_.shards];
    absl::MutexLock lock(&s.mu);
    s.map[std::move(row.key)].Add(row.counters);
  }
}

absl::Status UsageStore::Flush() {
  absl::MutexLock lock(&db_mu_);
  return FlushLocked();
}

absl::Status UsageStore::FlushLocked() {
  // Take the counters out; keep the entries of busy buckets (so Record does
  // not allocate again) and drop those idle for a whole interval.
  std::vector<Aggregate> rows;
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    absl::MutexLock lock(&s.mu);
    for (auto it = s.map.begin(); it != s.map.end();) {
      if (it->second == UsageCounters{}) {
        s.map.erase(it++);
        continue;
      }
      rows.push_back(Aggregate{it->first, std::exchange(it->second, UsageCounters{})});
      ++it;
    }
  }
  if (rows.empty()) return absl::OkStatus();
  absl::Status s = WriteLocked(rows);
  if (!s.ok()) {
    ++flush_failures_;
    Merge(std::move(rows));
  }
  return s;
}

absl::Status UsageStore::WriteLocked(const std::vector<Aggregate>& rows) {
  absl::Status s = Exec(db_, "BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  {
    Stmt upsert(db_, R"sql(
INSERT INTO usage_hourly(tenant, "key", model, hour_start_ms, requests, input_tokens,
                         output_tokens, cost_micros, errors)
VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT(tenant, hour_start_ms, "key", model) DO UPDATE SET
  requests = requests + excluded.requests,
  input_tokens = input_tokens + excluded.input_tokens,
  output_tokens = output_tokens + excluded.output_tokens,
  cost_micros = cost_micros + excluded.cost_micros,
  errors = errors + excluded.errors)sql");
    s = upsert.status("prepare upsert");
    for (size_t i = 0; s.ok() && i < rows.size(); ++i) {
      const Aggregate& r = rows[i];
      sqlite3_reset(upsert.get());
      upsert.Bind(1, r.key.tenant);
      upsert.Bind(2, r.key.key);
      upsert.Bind(3, r.key.model);
      upsert.Bind(4, r.key.hour_ms);
      upsert.Bind(5, r.counters.requests);
      upsert.Bind(6, r.counters.input_tokens);
      upsert.Bind(7, r.counters.output_tokens);
      upsert.Bind(8, r.counters.cost_micros);
      upsert.Bind(9, r.counters.errors);
      if (upsert.Step() != SQLITE_DONE) s = upsert.Error("upsert");
    }
  }
  if (s.ok()) s = Exec(db_, "COMMIT");
  if (!s.ok()) Exec(db_, "ROLLBACK").IgnoreError();  // the flush error is what matters
  return s;
}

absl::StatusOr<std::vector<UsageRow>> UsageStore::Query(const UsageQuery& query) {
  if (query.tenant.empty()) {
    return absl::InvalidArgumentError("tenant: a usage query needs a tenant");
  }
  return Run(query);
}

absl::StatusOr<std::vector<UsageRow>> UsageStore::AdminQuery(const UsageQuery& query) {
  return Run(query);
}

absl::StatusOr<std::vector<UsageRow>> UsageStore::Run(const UsageQuery& q) {
  if (q.to_ms <= q.from_ms || q.limit <= 0) {
    return absl::InvalidArgumentError(StrCat("usage query: need from_ms < to_ms and limit > 0 (",
                                             q.from_ms, ", ", q.to_ms, ", ", q.limit, ")"));
  }
  const std::string bucket =
      q.bucket == UsageBucket::kDay
          ? "hour_start_ms - ((hour_start_ms % 86400000) + 86400000) % 86400000"
          : "hour_start_ms";
  std::string sql = StrCat("SELECT ", bucket, " AS b, ", q.by_tenant ? "tenant" : "''", ", ",
                           q.by_key ? "\"key\"" : "''", ", ", q.by_model ? "model" : "''",
                           ", SUM(requests), SUM(input_tokens), SUM(output_tokens),"
                           " SUM(cost_micros), SUM(errors) FROM usage_hourly"
                           " WHERE hour_start_ms >= ?1 AND hour_start_ms < ?2");
  if (!q.tenant.empty()) sql += " AND tenant = ?3";
  std::string group = "b";
  if (q.by_tenant) group += ", tenant";
  if (q.by_key) group += ", \"key\"";
  if (q.by_model) group += ", model";
  StrAppend(&sql, " GROUP BY ", group, " ORDER BY ", group, " LIMIT ?4");

  absl::MutexLock lock(&db_mu_);
  absl::Status flushed = FlushLocked();
  if (!flushed.ok()) return flushed;
  Stmt stmt(db_, sql);
  if (absl::Status s = stmt.status("prepare query"); !s.ok()) return s;
  stmt.Bind(1, HourStartMs(q.from_ms));
  stmt.Bind(2, q.to_ms);
  if (!q.tenant.empty()) stmt.Bind(3, q.tenant);
  stmt.Bind(4, q.limit);
  std::vector<UsageRow> rows;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    rows.push_back(
        UsageRow{stmt.Int(0), stmt.Text(1), stmt.Text(2), stmt.Text(3),
                 UsageCounters{stmt.Int(4), stmt.Int(5), stmt.Int(6), stmt.Int(7), stmt.Int(8)}});
  }
  if (rc != SQLITE_DONE) return stmt.Error("query");
  return rows;
}

absl::StatusOr<MonthUsage> UsageStore::MonthToDate(std::string_view tenant,
                                                   int64_t month_start_ms) {
  const MonthSpan month = UtcMonthOf(month_start_ms);
  absl::MutexLock lock(&db_mu_);
  absl::Status flushed = FlushLocked();
  if (!flushed.ok()) return flushed;
  Stmt stmt(db_,
            "SELECT COALESCE(SUM(input_tokens + output_tokens), 0), COALESCE(SUM(cost_micros), 0),"
            " COALESCE(SUM(requests), 0) FROM usage_hourly"
            " WHERE tenant = ?1 AND hour_start_ms >= ?2 AND hour_start_ms < ?3");
  if (absl::Status s = stmt.status("prepare month to date"); !s.ok()) return s;
  stmt.Bind(1, tenant);
  stmt.Bind(2, month.start_ms);
  stmt.Bind(3, month.end_ms);
  if (stmt.Step() != SQLITE_ROW) return stmt.Error("month to date");
  return MonthUsage{stmt.Int(0), stmt.Int(1), stmt.Int(2)};
}

absl::StatusOr<std::vector<std::string>> UsageStore::TopTenants(int64_t from_ms, int64_t to_ms,
                                                                size_t n) {
  absl::MutexLock lock(&db_mu_);
  absl::Status flushed = FlushLocked();
  if (!flushed.ok()) return flushed;
  Stmt stmt(db_,
            "SELECT tenant, SUM(requests) AS r FROM usage_hourly"
            " WHERE hour_start_ms >= ?1 AND hour_start_ms < ?2"
            " GROUP BY tenant ORDER BY r DESC, tenant LIMIT ?3");
  if (absl::Status s = stmt.status("prepare top tenants"); !s.ok()) return s;
  stmt.Bind(1, HourStartMs(from_ms));
  stmt.Bind(2, to_ms);
  stmt.Bind(3, static_cast<int64_t>(std::min<size_t>(n, INT64_MAX)));
  std::vector<std::string> tenants;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) tenants.push_back(stmt.Text(0));
  if (rc != SQLITE_DONE) return stmt.Error("top tenants");
  return tenants;
}

int64_t UsageStore::FlushFailuresForTest() const {
  absl::MutexLock lock(&db_mu_);
  return flush_failures_;
}

}  // namespace basalt::limits
