#include "tenancy/crypto/key_store.h"

#include <utility>

#include "core/strings.h"

namespace basalt::crypto {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS data_keys (
  tenant      TEXT    NOT NULL,
  version     INTEGER NOT NULL,
  wrapped_key BLOB,
  kek_id      TEXT    NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('active', 'retired', 'destroyed')),
  created_at  INTEGER NOT NULL,
  reserved    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, version)
) WITHOUT ROWID;
)sql";

const char* StateName(KeyState state) {
  switch (state) {
    case KeyState::kActive:
      return "active";
    case KeyState::kRetired:
      return "retired";
    case KeyState::kDestroyed:
      return "destroyed";
  }
  return "destroyed";
}

// A prepared statement finalized on scope exit. Text and blobs are bound
// without a copy, so bound data must outlive it.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  int prepare_rc() const { return rc_; }
  void Text(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void Blob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string ColumnBytes(int c) const {
    const void* p = sqlite3_column_blob(stmt_, c);
    const int n = sqlite3_column_bytes(stmt_, c);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
  }
  int64_t ColumnInt(int c) const { return sqlite3_column_int64(stmt_, c); }
  int changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KeyStore>> KeyStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);  // A handle is allocated even on most failures.
    return absl::UnavailableError(StrCat("cannot open keys database ", path, ": ", detail));
  }
  std::unique_ptr<KeyStore> store(new KeyStore(db, path));
  absl::MutexLock lock(&store->mu_);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  if (absl::Status s = store->Exec("PRAGMA secure_delete=ON; PRAGMA synchronous=FULL;"); !s.ok()) {
    return absl::UnavailableError(StrCat("cannot use keys database ", path, ": ", s.message()));
  }
  // Both settings are checked, not assumed: a build without secure_delete or
  // a file system without shared memory would silently keep key bytes.
  {
    Stmt wal(db, "PRAGMA journal_mode=WAL");
    if (wal.Step() != SQLITE_ROW || wal.ColumnBytes(0) != "wal") {
      return absl::FailedPreconditionError(
          StrCat("keys database ", path, ": cannot switch to WAL mode"));
    }
    Stmt secure(db, "PRAGMA secure_delete");
    if (secure.Step() != SQLITE_ROW || secure.ColumnInt(0) != 1) {
      return absl::FailedPreconditionError(
          StrCat("keys database ", path, ": secure_delete is not available"));
    }
  }
  if (absl::Status s = store->Exec(kSchema); !s.ok()) return s;
  return store;
}

KeyStore::~KeyStore() { sqlite3_close_v2(db_); }

absl::Status KeyStore::Error(int rc, std::string_view what) {
  const std::string message =
      StrCat("keys database ", path_, ": ", what, ": ", sqlite3_errmsg(db_));
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

absl::Status KeyStore::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "exec");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredKey>> KeyStore::LoadAll() {
  absl::MutexLock lock(&mu_);
  Stmt stmt(db_,
            "SELECT tenant, version, wrapped_key, kek_id, state, created_at, reserved "
            "FROM data_keys ORDER BY tenant, version");
  if (stmt.prepare_rc() != SQLITE_OK) return Error(stmt.prepare_rc(), "loading keys");
  std::vector<StoredKey> keys;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    StoredKey key;
    key.tenant = stmt.ColumnBytes(0);
    const int64_t version = stmt.ColumnInt(1);
    key.version = static_cast<uint32_t>(version);
    key.wrapped = stmt.ColumnBytes(2);
    key.kek_id = stmt.ColumnBytes(3);
    const std::string state = stmt.ColumnBytes(4);
    key.state = state == "active"    ? KeyState::kActive
                : state == "retired" ? KeyState::kRetired
                                     : KeyState::kDestroyed;
    key.created_at = stmt.ColumnInt(5);
    key.reserved = static_cast<uint64_t>(stmt.ColumnInt(6));
    if (version < 0 || version > UINT32_MAX || stmt.ColumnInt(6) < 0) {
      return absl::DataLossError(
          StrCat("keys database ", path_, ": bad version or reservation for tenant ", key.tenant));
    }
    keys.push_back(std::move(key));
  }
  if (rc != SQLITE_DONE) return Error(rc, "loading keys");
  return keys;
}

absl::Status KeyStore::AddVersion(const StoredKey& key) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt retire(db_, "UPDATE data_keys SET state = 'retired' WHERE tenant = ? AND state = 'active'");
  Stmt insert(db_,
              "INSERT INTO data_keys (tenant, version, wrapped_key, kek_id, state, created_at, "
              "reserved) VALUES (?, ?, ?, ?, ?, ?, ?)");
  retire.Text(1, key.tenant);
  int rc = retire.prepare_rc() != SQLITE_OK ? retire.prepare_rc() : retire.Step();
  if (rc == SQLITE_DONE) {
    insert.Text(1, key.tenant);
    insert.Int(2, key.version);
    insert.Blob(3, key.wrapped);
    insert.Text(4, key.kek_id);
    insert.Text(5, StateName(key.state));
    insert.Int(6, key.created_at);
    insert.Int(7, static_cast<int64_t>(key.reserved));
    rc = insert.prepare_rc() != SQLITE_OK ? insert.prepare_rc() : insert.Step();
  }
  if (rc != SQLITE_DONE) {
    absl::Status error = Error(rc, "adding a data key");
    Exec("ROLLBACK").IgnoreError();  // The error above is the one to report.
    return error;
  }
  return Exec("COMMIT");
}

absl::Status KeyStore::SetReserved(std::string_view tenant, uint32_t version, uint64_t reserved) {
  absl::MutexLock lock(&mu_);
  Stmt stmt(db_,
            "UPDATE data_keys SET reserved = max(reserved, ?) WHERE tenant = ? AND version = ?");
  if (stmt.prepare_rc() != SQLITE_OK) return Error(stmt.prepare_rc(), "reserving counts");
  stmt.Int(1, static_cast<int64_t>(reserved));
  stmt.Text(2, tenant);
  stmt.Int(3, version);
  const int rc = stmt.Step();
  if (rc != SQLITE_DONE) return Error(rc, "reserving counts");
  if (stmt.changes() != 1) {
    return absl::NotFoundError(
        StrCat("keys database ", path_, ": no key version ", version, " for tenant ", tenant));
  }
  return absl::OkStatus();
}

absl::Status KeyStore::MarkDestroyed(std::string_view tenant, int64_t now) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt destroy(db_,
               "UPDATE data_keys SET state = 'destroyed', wrapped_key = NULL WHERE tenant = ?");
  Stmt tombstone(db_,
                 "INSERT OR IGNORE INTO data_keys (tenant, version, wrapped_key, kek_id, state, "
                 "created_at, reserved) VALUES (?, 0, NULL, '', 'destroyed', ?, 0)");
  destroy.Text(1, tenant);
  int rc = destroy.prepare_rc() != SQLITE_OK ? destroy.prepare_rc() : destroy.Step();
  if (rc == SQLITE_DONE && destroy.changes() == 0) {
    tombstone.Text(1, tenant);
    tombstone.Int(2, now);
    rc = tombstone.prepare_rc() != SQLITE_OK ? tombstone.prepare_rc() : tombstone.Step();
  }
  if (rc != SQLITE_DONE) {
    absl::Status error = Error(rc, "destroying keys");
    Exec("ROLLBACK").IgnoreError();  // The error above is the one to report.
    return error;
  }
  return Exec("COMMIT");
}

absl::Status KeyStore::Rewrap(const std::vector<StoredKey>& keys, std::string_view old_kek_id) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt update(db_,
              "UPDATE data_keys SET wrapped_key = ?, kek_id = ? "
              "WHERE tenant = ? AND version = ? AND kek_id = ? AND state != 'destroyed'");
  absl::Status error;
  if (update.prepare_rc() != SQLITE_OK) error = Error(update.prepare_rc(), "rewrapping keys");
  for (size_t i = 0; error.ok() && i < keys.size(); ++i) {
    const StoredKey& key = keys[i];
    update.Reset();
    update.Blob(1, key.wrapped);
    update.Text(2, key.kek_id);
    update.Text(3, key.tenant);
    update.Int(4, key.version);
    update.Text(5, old_kek_id);
    const int rc = update.Step();
    if (rc != SQLITE_DONE) {
      error = Error(rc, "rewrapping keys");
    } else if (update.changes() != 1) {
      error = absl::AbortedError(StrCat("keys database ", path_, ": tenant ", key.tenant,
                                        " version ", key.version, " changed while rewrapping"));
    }
  }
  if (!error.ok()) {
    Exec("ROLLBACK").IgnoreError();  // `error` is the one to report.
    return error;
  }
  return Exec("COMMIT");
}

absl::Status KeyStore::TruncateWal() {
  absl::MutexLock lock(&mu_);
  int log_frames = -1;
  int checkpointed = -1;
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                           &checkpointed);
  if (rc != SQLITE_OK) return Error(rc, "truncating the WAL");
  // TRUNCATE leaves an empty log (0 frames) only when it finished.
  if (log_frames != 0) {
    return absl::UnavailableError(
        StrCat("keys database ", path_, ": WAL not truncated (", log_frames, " frames remain)"));
  }
  return absl::OkStatus();
}

}  // namespace basalt::crypto
