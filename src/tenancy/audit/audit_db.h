// The audit log's SQLite file: a minimal RAII handle and statement, the
// schema, and row readers shared by the writer, the queries and the verifier.
// Internal to tenancy/audit/.
//
// Thread-safety: a Db is used by one thread at a time (opened NOMUTEX).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tenancy/audit/audit_entry.h"
#include "tenancy/audit/checkpoint.h"

namespace basalt::audit::internal {

class Stmt {
 public:
  Stmt(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(Stmt&& other) noexcept : stmt_(other.stmt_), db_(other.db_) { other.stmt_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;

  // Text is copied (SQLITE_TRANSIENT). Indexes are 1-based.
  absl::Status Bind(int index, std::string_view text);
  absl::Status Bind(int index, int64_t value);
  // True when a row is ready, false when done.
  absl::StatusOr<bool> Step();
  absl::Status Run();
  // Clears bindings and rewinds, for running the statement again.
  void Reset();

  std::string Text(int column) const;
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
};

class Db {
 public:
  // Read-write opens create the file, switch it to WAL and create the schema;
  // read-only opens require the file (kNotFound naming the path when absent).
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path, bool read_only);
  ~Db() { sqlite3_close_v2(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  absl::Status Exec(const std::string& sql);
  absl::StatusOr<Stmt> Prepare(std::string_view sql);
  void RollbackIfOpen();
  sqlite3* handle() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

absl::Status SqliteError(int rc, sqlite3* db, std::string_view what);

// The entry columns in StoredEntry order, for SELECT lists; ReadEntry reads a
// row selected with them starting at column 0.
inline constexpr char kEntryColumns[] =
    "tenant, seq, time_ms, principal, action, resource, remote_addr, outcome, reason, "
    "request_id, detail, prev_hash, hash";
StoredEntry ReadEntry(const Stmt& stmt);
absl::Status InsertEntry(Stmt& insert, const StoredEntry& e);
inline constexpr char kInsertEntrySql[] =
    "INSERT INTO audit_entries (tenant, seq, time_ms, principal, action, resource, remote_addr, "
    "outcome, reason, request_id, detail, prev_hash, hash) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

inline constexpr char kCheckpointColumns[] =
    "tenant, number, seq, hash, time_ms, tenants, key_id, signature";
Checkpoint ReadCheckpoint(const Stmt& stmt);
absl::Status InsertCheckpoint(Stmt& insert, const Checkpoint& c);
inline constexpr char kInsertCheckpointSql[] =
    "INSERT INTO audit_checkpoints (tenant, number, seq, hash, time_ms, tenants, key_id, "
    "signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

// True when both audit tables exist (a read-only open of a foreign file).
absl::StatusOr<bool> HasSchema(Db& db);

}  // namespace basalt::audit::internal
