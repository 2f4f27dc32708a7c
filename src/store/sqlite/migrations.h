// Versioned schema migrations for the SQLite adapter. The schema version lives
// in `schema_migrations(version, applied_at)`; Migrate applies every migration
// newer than the stored version, in order, inside one transaction, so a crash
// or a failing migration leaves the database exactly as it was.
//
// Rules for adding a migration: append to BuiltinMigrations() with the next
// version; never edit or reorder a released one; every table carries a
// `tenant_id` column (schema_migrations itself is the one exception: it
// describes the file, not any tenant's data).
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/clock.h"
#include "store/sqlite/connection.h"

namespace basalt::sqlite {

struct Migration {
  int version;                   // 1, 2, 3, ... without gaps
  std::string_view description;  // shown in errors and logs
  std::string_view sql;          // one or more statements
};

// The migrations this binary knows, ordered by version.
absl::Span<const Migration> BuiltinMigrations();

// Brings `conn`'s database up to the last of `migrations` and returns the
// resulting schema version. Idempotent: a database already current is left
// alone. Errors: kFailedPrecondition when the database's schema is newer than
// the last migration known (an older binary on a newer data directory);
// kInternal when a migration fails (the transaction is rolled back) or the list
// is malformed; kUnavailable when the database stays locked past the timeout.
[[nodiscard]] absl::StatusOr<int> Migrate(Connection& conn, absl::Span<const Migration> migrations,
                                          const Clock& clock);

}  // namespace basalt::sqlite
