#include "store/sqlite/migrations.h"

#include <chrono>
#include <cstdint>
#include <string>

#include "core/strings.h"

namespace basalt::sqlite {
namespace {

constexpr Migration kMigrations[] = {
    {1, "records: tenant-scoped JSON documents",
     R"sql(
CREATE TABLE records (
  tenant_id  TEXT    NOT NULL,
  collection TEXT    NOT NULL,
  id         TEXT    NOT NULL,
  body       TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, collection, id)
) WITHOUT ROWID;
)sql"},
};

absl::Status CheckOrdered(absl::Span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return absl::InternalError(StrCat("migration list is malformed: entry ", i, " has version ",
                                        migrations[i].version, ", expected ", i + 1));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> StoredVersion(Connection& conn) {
  absl::StatusOr<Statement> stmt =
      conn.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? static_cast<int>(stmt->ColumnInt(0)) : 0;
}

// The body of Migrate, run inside the transaction Migrate opened.
absl::StatusOr<int> MigrateLocked(Connection& conn, absl::Span<const Migration> migrations,
                                  const Clock& clock) {
  if (absl::Status s = conn.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                 "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<int> current = StoredVersion(conn);
  if (!current.ok()) return current.status();
  const int latest = static_cast<int>(migrations.size());
  if (*current > latest) {
    return absl::FailedPreconditionError(StrCat("the database schema is at version ", *current,
                                                " but this basalt binary knows only up to ", latest,
                                                "; run a newer basalt on this data directory"));
  }
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
  for (int v = *current + 1; v <= latest; ++v) {
    const Migration& m = migrations[v - 1];
    if (absl::Status s = conn.Exec(std::string(m.sql)); !s.ok()) {
      return absl::InternalError(
          StrCat("schema migration ", m.version, " (", m.description, ") failed: ", s.message()));
    }
    absl::StatusOr<Statement> record =
        conn.Prepare("INSERT INTO schema_migrations(version, applied_at) VALUES(?1, ?2)");
    if (!record.ok()) return record.status();
    if (absl::Status s = record->BindInt(1, m.version); !s.ok()) return s;
    if (absl::Status s = record->BindInt(2, now_ms); !s.ok()) return s;
    if (absl::Status s = record->Run(); !s.ok()) return s;
  }
  return latest;
}

}  // namespace

absl::Span<const Migration> BuiltinMigrations() { return kMigrations; }

absl::StatusOr<int> Migrate(Connection& conn, absl::Span<const Migration> migrations,
                            const Clock& clock) {
  if (absl::Status s = CheckOrdered(migrations); !s.ok()) return s;
  // IMMEDIATE takes the write lock first, so two processes opening the same
  // file at once migrate one after the other instead of racing.
  if (absl::Status s = conn.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::StatusOr<int> version = MigrateLocked(conn, migrations, clock);
  if (!version.ok()) {
    conn.RollbackIfOpen();
    return version.status();
  }
  if (absl::Status s = conn.Exec("COMMIT"); !s.ok()) {
    conn.RollbackIfOpen();
    return s;
  }
  return version;
}

}  // namespace basalt::sqlite
