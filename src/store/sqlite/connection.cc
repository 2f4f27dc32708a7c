#include "store/sqlite/connection.h"

#include <utility>

#include "core/strings.h"

namespace basalt::sqlite {

absl::Status SqliteStatus(int rc, sqlite3* db, std::string_view what) {
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(
          StrCat(what, ": the database is busy (", detail, "); retry later"));
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        return absl::AlreadyExistsError(StrCat(what, ": ", detail));
      }
      break;
    default:
      break;
  }
  return absl::InternalError(StrCat(what, ": sqlite error ", rc, ": ", detail));
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                             const Options& options) {
  sqlite3* db = nullptr;
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    // sqlite3_open_v2 allocates a handle even on most failures; it must be closed.
    sqlite3_close_v2(db);
    return absl::UnavailableError(StrCat("cannot open SQLite database '", path, "': ", detail));
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  const std::string pragmas =
      StrCat("PRAGMA synchronous=", options.synchronous_full ? "FULL" : "NORMAL",
             "; PRAGMA foreign_keys=ON;");
  if (absl::Status s = conn->Exec(pragmas); !s.ok()) {
    // The first statement is where a file that is not a database, or one we
    // may not read, shows up; name the path so the operator can act.
    return absl::UnavailableError(StrCat("cannot use SQLite database '", path, "': ", s.message()));
  }
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::Status Connection::Exec(const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return absl::OkStatus();
  sqlite3_free(error);  // sqlite3_errmsg(db_) holds the same text.
  return SqliteStatus(rc, db_, StrCat("executing '", sql.substr(0, 80), "'"));
}

absl::StatusOr<std::string> Connection::QueryText(const std::string& sql) {
  absl::StatusOr<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? std::string(stmt->ColumnText(0)) : std::string();
}

absl::StatusOr<Statement> Connection::Prepare(std::string_view sql) {
  auto it = cache_.find(ToAbsl(sql));
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      return SqliteStatus(rc, db_, StrCat("preparing '", sql.substr(0, 80), "'"));
    }
    it = cache_.emplace(std::string(sql), stmt).first;
  }
  return Statement(it->second, db_);
}

void Connection::RollbackIfOpen() {
  if (!InTransaction()) return;
  // A failed ROLLBACK leaves SQLite to roll back when the connection next
  // writes or closes; there is nothing better the caller could do.
  (void)Exec("ROLLBACK");
}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

absl::Status Statement::BindText(int index, std::string_view text) {
  // A null pointer would bind SQL NULL; an empty string_view may carry one.
  const char* data = text.data() != nullptr ? text.data() : "";
  int rc = sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db_, StrCat("binding parameter ", index));
  return absl::OkStatus();
}

absl::Status Statement::BindInt(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db_, StrCat("binding parameter ", index));
  return absl::OkStatus();
}

absl::StatusOr<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const char* sql = sqlite3_sql(stmt_);
  return SqliteStatus(rc, db_, StrCat("executing '", std::string_view(sql).substr(0, 80), "'"));
}

absl::Status Statement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

absl::Status Statement::BindBlob(int index, std::string_view bytes) {
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  int rc = sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db_, StrCat("binding parameter ", index));
  return absl::OkStatus();
}

absl::Status Statement::BindDouble(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db_, StrCat("binding parameter ", index));
  return absl::OkStatus();
}

std::string_view Statement::ColumnBlob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  if (data == nullptr) return {};
  return {static_cast<const char*>(data), static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::string_view Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  // column_bytes after column_text gives the UTF-8 length, embedded NULs included.
  return {reinterpret_cast<const char*>(text),
          static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

}  // namespace basalt::sqlite
