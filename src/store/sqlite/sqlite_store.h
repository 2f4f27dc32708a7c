// SqliteStore: the embedded Store adapter, on one SQLite file in WAL mode.
//
// Durability: every write is one SQLite transaction committed with
// synchronous=FULL, so when a call returns OK the write is on disk and
// survives a power cut, not just a process crash. (NORMAL is faster in WAL
// mode but may drop the last commits on power loss; basalt acknowledges
// requests only once they are stored, so it would break that promise.)
//
// Concurrency: a small pool of connections, one per BlockingPool thread being
// typical. Reads run in parallel under WAL. SQLite allows one writer at a time,
// so this process's writers queue on a mutex rather than in SQLite's busy
// handler (which polls with sleeps); the busy timeout still bounds waits on
// locks held by another process, after which calls answer kUnavailable.
//
// Schema: versioned migrations (migrations.h) run inside one transaction on
// Open; a database written by a newer binary is refused.
//
// Thread-safety: every method may be called from any thread; see store.h for
// the per-method contract and error codes. Destroy only once no call is in
// flight.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "store/sqlite/connection_pool.h"
#include "store/store.h"

namespace basalt {

struct SqliteOptions {
  // How long a call waits for a lock held by another connection or process,
  // and for a free pooled connection, before answering kUnavailable. >= 0.
  int busy_timeout_ms = 5000;
  // Connections in the pool, 1..64. Match the BlockingPool's thread count:
  // more connections than threads is wasted, fewer makes threads wait.
  int pool_size = 4;
  // synchronous=FULL (see the file comment). Turn off only for throwaway
  // databases such as benchmarks of the engine itself.
  bool synchronous_full = true;
  // Stamps created_ms / updated_ms and migrations' applied_at. Not owned; must
  // outlive the store.
  const Clock* clock = &RealClock::Instance();
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if missing) the database file at `path`, whose directory
  // must exist; enables WAL and runs migrations. Errors: kInvalidArgument for
  // bad options; kUnavailable naming the path when the file cannot be opened
  // or is not a database; kFailedPrecondition when WAL cannot be enabled (e.g.
  // ":memory:") or the schema is newer than this binary knows; kInternal when
  // a migration fails (nothing is changed).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      const std::string& path, const SqliteOptions& options = {});

  absl::StatusOr<Record> Create(std::string_view tenant, std::string_view collection,
                                std::string_view id, std::string_view body) override;
  absl::StatusOr<Record> Get(std::string_view tenant, std::string_view collection,
                             std::string_view id) override;
  absl::StatusOr<Record> Update(std::string_view tenant, std::string_view collection,
                                std::string_view id, std::string_view body,
                                int64_t expected_version) override;
  absl::Status Delete(std::string_view tenant, std::string_view collection,
                      std::string_view id) override;
  absl::StatusOr<RecordPage> List(std::string_view tenant, std::string_view collection,
                                  const ListOptions& options) override;
  absl::StatusOr<int64_t> AdminCountAllTenants(std::string_view collection) override;
  absl::Status AdminDeleteTenant(std::string_view tenant) override;
  absl::Status Ping() override;
  int SchemaVersion() const override { return schema_version_; }

  // The value of `PRAGMA <name>` on one pooled connection, e.g. "journal_mode".
  [[nodiscard]] absl::StatusOr<std::string> PragmaForTest(std::string_view name);

 private:
  SqliteStore(std::unique_ptr<sqlite::ConnectionPool> pool, const Clock& clock, int schema_version)
      : pool_(std::move(pool)), clock_(clock), schema_version_(schema_version) {}

  int64_t NowMs() const;
  absl::StatusOr<Record> UpdateInTransaction(sqlite::Connection& conn, std::string_view tenant,
                                             std::string_view collection, std::string_view id,
                                             std::string_view body, int64_t expected_version);

  const std::unique_ptr<sqlite::ConnectionPool> pool_;
  const Clock& clock_;
  const int schema_version_;
  // Held for the whole of every write; see "Concurrency" above. Guards no
  // field: it orders access to the database file.
  absl::Mutex write_mu_;
};

}  // namespace basalt
