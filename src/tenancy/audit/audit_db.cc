#include "tenancy/audit/audit_db.h"

#include <sys/stat.h>

#include "core/strings.h"

namespace basalt::audit::internal {

namespace {

// Append-only by construction: the triggers refuse UPDATE and DELETE so a bug
// or a stray SQL session cannot change history by accident. They are no
// defence against someone who can edit the file (they can drop them); the
// hash chain and the signed checkpoints are.
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS audit_entries (
  tenant TEXT NOT NULL,
  seq INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  remote_addr TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  request_id TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (tenant, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_entries_by_time ON audit_entries (time_ms, tenant, seq);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  tenant TEXT NOT NULL,
  number INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  tenants INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL,
  PRIMARY KEY (tenant, number)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
)sql";

}  // namespace

absl::Status SqliteError(int rc, sqlite3* db, std::string_view what) {
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return absl::UnavailableError(StrCat(what, ": the audit database is busy (", detail, ")"));
  }
  return absl::InternalError(StrCat(what, ": sqlite error ", rc, ": ", detail));
}

absl::Status Stmt::Bind(int index, std::string_view text) {
  const int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return rc == SQLITE_OK ? absl::OkStatus() : SqliteError(rc, db_, "binding a parameter");
}

absl::Status Stmt::Bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  return rc == SQLITE_OK ? absl::OkStatus() : SqliteError(rc, db_, "binding a parameter");
}

absl::StatusOr<bool> Stmt::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, db_, "running a statement");
}

absl::Status Stmt::Run() {
  for (;;) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Stmt::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path, bool read_only) {
  if (read_only) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return absl::NotFoundError(StrCat("audit database '", path, "' not found"));
    }
  }
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  sqlite3* handle = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  std::unique_ptr<Db> db(new Db(handle));  // closes the handle on every path below
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(StrCat("cannot open audit database '", path,
                                         "': ", SqliteError(rc, handle, "open").message()));
  }
  sqlite3_busy_timeout(handle, 5000);
  // FULL: an entry the writer reports committed is on disk (the WAL is synced
  // at each commit), so Flush() means durable.
  std::string setup = "PRAGMA synchronous=FULL;";
  if (!read_only) setup += "PRAGMA journal_mode=WAL;" + std::string(kSchema);
  if (absl::Status s = db->Exec(setup); !s.ok()) {
    return absl::UnavailableError(StrCat("cannot use audit database '", path, "': ", s.message()));
  }
  return db;
}

absl::Status Db::Exec(const std::string& sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  sqlite3_free(error);  // sqlite3_errmsg holds the same text
  if (rc == SQLITE_OK) return absl::OkStatus();
  return SqliteError(rc, db_, StrCat("executing '", sql.substr(0, 60), "'"));
}

absl::StatusOr<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(rc, db_, StrCat("preparing '", sql.substr(0, 60), "'"));
  }
  return Stmt(stmt, db_);
}

void Db::RollbackIfOpen() {
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

StoredEntry ReadEntry(const Stmt& s) {
  StoredEntry e;
  e.tenant = s.Text(0);
  e.seq = s.Int(1);
  e.time_ms = s.Int(2);
  e.principal = s.Text(3);
  e.action = s.Text(4);
  e.resource = s.Text(5);
  e.remote_addr = s.Text(6);
  e.outcome = s.Text(7);
  e.reason = s.Text(8);
  e.request_id = s.Text(9);
  e.detail_json = s.Text(10);
  e.prev_hash = s.Text(11);
  e.hash = s.Text(12);
  return e;
}

absl::Status InsertEntry(Stmt& insert, const StoredEntry& e) {
  insert.Reset();
  absl::Status s = insert.Bind(1, e.tenant);
  if (s.ok()) s = insert.Bind(2, e.seq);
  if (s.ok()) s = insert.Bind(3, e.time_ms);
  if (s.ok()) s = insert.Bind(4, e.principal);
  if (s.ok()) s = insert.Bind(5, e.action);
  if (s.ok()) s = insert.Bind(6, e.resource);
  if (s.ok()) s = insert.Bind(7, e.remote_addr);
  if (s.ok()) s = insert.Bind(8, e.outcome);
  if (s.ok()) s = insert.Bind(9, e.reason);
  if (s.ok()) s = insert.Bind(10, e.request_id);
  if (s.ok()) s = insert.Bind(11, e.detail_json);
  if (s.ok()) s = insert.Bind(12, e.prev_hash);
  if (s.ok()) s = insert.Bind(13, e.hash);
  if (s.ok()) s = insert.Run();
  return s;
}

Checkpoint ReadCheckpoint(const Stmt& s) {
  Checkpoint c;
  c.tenant = s.Text(0);
  c.number = s.Int(1);
  c.seq = s.Int(2);
  c.hash = s.Text(3);
  c.time_ms = s.Int(4);
  c.tenants = s.Int(5);
  c.key_id = s.Text(6);
  c.signature = s.Text(7);
  return c;
}

absl::Status InsertCheckpoint(Stmt& insert, const Checkpoint& c) {
  insert.Reset();
  absl::Status s = insert.Bind(1, c.tenant);
  if (s.ok()) s = insert.Bind(2, c.number);
  if (s.ok()) s = insert.Bind(3, c.seq);
  if (s.ok()) s = insert.Bind(4, c.hash);
  if (s.ok()) s = insert.Bind(5, c.time_ms);
  if (s.ok()) s = insert.Bind(6, c.tenants);
  if (s.ok()) s = insert.Bind(7, c.key_id);
  if (s.ok()) s = insert.Bind(8, c.signature);
  if (s.ok()) s = insert.Run();
  return s;
}

absl::StatusOr<bool> HasSchema(Db& db) {
  absl::StatusOr<Stmt> stmt = db.Prepare(
      "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND "
      "name IN ('audit_entries', 'audit_checkpoints')");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row && stmt->Int(0) == 2;
}

}  // namespace basalt::audit::internal
