// Connection: one sqlite3 handle with its cache of prepared statements, and
// Statement, a borrowed cached statement that resets itself when it goes out of
// scope. The SQLite adapters' building blocks (the Store adapter here, and the
// RAG document database in rag/kb/); ports never expose it.
//
// Thread-safety: a Connection is used by one thread at a time (ConnectionPool
// hands each to one caller). Connections are opened in SQLite's multi-thread
// mode (SQLITE_OPEN_NOMUTEX), which relies on exactly that.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt::sqlite {

// Maps an SQLite result code to a Status. SQLITE_BUSY / SQLITE_LOCKED (the busy
// timeout ran out) -> kUnavailable; a PRIMARY KEY or UNIQUE violation ->
// kAlreadyExists; anything else -> kInternal. `what` says which operation
// failed; the message carries sqlite3_errmsg(db) when db is not null.
[[nodiscard]] absl::Status SqliteStatus(int rc, sqlite3* db, std::string_view what);

class Statement;

class Connection {
 public:
  struct Options {
    int busy_timeout_ms = 5000;
    // FULL: a commit returns only after the WAL is fsynced, so an
    // acknowledged write survives power loss. NORMAL would be faster but may
    // lose the last commits on power loss, which basalt's "acknowledged means
    // durable" promise (the async pattern acks before work runs) cannot accept.
    bool synchronous_full = true;
  };

  // Opens (creating if missing) the database file at `path` and applies the
  // per-connection settings: extended result codes, busy timeout, synchronous,
  // foreign_keys=ON. kUnavailable naming the path when it cannot be opened.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& path,
                                                                        const Options& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more SQL statements that return no rows needed by the caller
  // (DDL, BEGIN/COMMIT, pragmas). Not cached.
  [[nodiscard]] absl::Status Exec(const std::string& sql);

  // The first column of the first row of `sql` as text ("" when no row or NULL).
  [[nodiscard]] absl::StatusOr<std::string> QueryText(const std::string& sql);

  // The cached prepared statement for `sql`, prepared on first use with
  // SQLITE_PREPARE_PERSISTENT. The Statement must be destroyed before the next
  // Prepare of the same SQL text on this connection.
  [[nodiscard]] absl::StatusOr<Statement> Prepare(std::string_view sql);

  // True when a transaction is open (the connection is not in autocommit).
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  // Rolls back an open transaction, if any. Used on error paths; never fails
  // in a way the caller could act on, so it returns nothing.
  void RollbackIfOpen();

  sqlite3* handle() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  // Keyed by SQL text. Statements live as long as the connection.
  absl::flat_hash_map<std::string, sqlite3_stmt*> cache_;
};

// A cached statement on loan. Binds by 1-based index. Text is bound without a
// copy (SQLITE_STATIC), so bound data must outlive the Statement; the
// destructor resets the statement and clears its bindings.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  ~Statement();
  Statement(Statement&& other) noexcept : stmt_(other.stmt_), db_(other.db_) {
    other.stmt_ = nullptr;
  }
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;

  [[nodiscard]] absl::Status BindText(int index, std::string_view text);
  [[nodiscard]] absl::Status BindInt(int index, int64_t value);
  // Binds bytes as a BLOB, without a copy (as BindText).
  [[nodiscard]] absl::Status BindBlob(int index, std::string_view bytes);
  [[nodiscard]] absl::Status BindDouble(int index, double value);

  // Advances one step: true when a row is ready, false when the statement is
  // done; an error Status mapped by SqliteStatus otherwise.
  [[nodiscard]] absl::StatusOr<bool> Step();
  // Steps to completion, for statements whose rows are not needed.
  [[nodiscard]] absl::Status Run();

  // Valid until the next Step() or the Statement's destruction.
  std::string_view ColumnText(int column) const;
  int64_t ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }
  double ColumnDouble(int column) const { return sqlite3_column_double(stmt_, column); }
  // A BLOB column's bytes; valid as ColumnText.
  std::string_view ColumnBlob(int column) const;
  bool ColumnIsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t Changes() const { return sqlite3_changes64(db_); }

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
};

}  // namespace basalt::sqlite
