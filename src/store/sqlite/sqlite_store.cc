#include "store/sqlite/sqlite_store.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "core/strings.h"
#include "store/sqlite/migrations.h"
#include "store/validation.h"

namespace basalt {
namespace {

using sqlite::Connection;
using sqlite::ConnectionPool;
using sqlite::Statement;

constexpr int kMaxPoolSize = 64;

constexpr std::string_view kInsertSql =
    "INSERT INTO records(tenant_id, collection, id, body, version, created_ms, updated_ms) "
    "VALUES(?1, ?2, ?3, ?4, 1, ?5, ?5)";
constexpr std::string_view kGetSql =
    "SELECT body, version, created_ms, updated_ms FROM records "
    "WHERE tenant_id = ?1 AND collection = ?2 AND id = ?3";
constexpr std::string_view kVersionSql =
    "SELECT version, created_ms FROM records "
    "WHERE tenant_id = ?1 AND collection = ?2 AND id = ?3";
constexpr std::string_view kUpdateSql =
    "UPDATE records SET body = ?4, version = version + 1, updated_ms = ?5 "
    "WHERE tenant_id = ?1 AND collection = ?2 AND id = ?3";
constexpr std::string_view kDeleteSql =
    "DELETE FROM records WHERE tenant_id = ?1 AND collection = ?2 AND id = ?3";
// Keyset pagination: the primary key index serves both the filter and order.
constexpr std::string_view kListSql =
    "SELECT id, body, version, created_ms, updated_ms FROM records "
    "WHERE tenant_id = ?1 AND collection = ?2 AND id > ?3 ORDER BY id LIMIT ?4";
constexpr std::string_view kCountSql = "SELECT COUNT(*) FROM records WHERE collection = ?1";
constexpr std::string_view kPingSql = "SELECT MAX(version) FROM schema_migrations";

// Runs a cached statement that takes no parameters and returns no rows.
absl::Status RunCached(Connection& conn, std::string_view sql) {
  absl::StatusOr<Statement> stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Run();
}

absl::Status BindKey(Statement& stmt, std::string_view tenant, std::string_view collection,
                     std::string_view id) {
  if (absl::Status s = stmt.BindText(1, tenant); !s.ok()) return s;
  if (absl::Status s = stmt.BindText(2, collection); !s.ok()) return s;
  return stmt.BindText(3, id);
}

Record MakeRecord(std::string_view tenant, std::string_view collection, std::string_view id,
                  std::string_view body, int64_t version, int64_t created_ms, int64_t updated_ms) {
  Record record;
  record.tenant = tenant;
  record.collection = collection;
  record.id = id;
  record.body = body;
  record.version = version;
  record.created_ms = created_ms;
  record.updated_ms = updated_ms;
  return record;
}

absl::Status NotFound(std::string_view collection, std::string_view id) {
  return absl::NotFoundError(StrCat("no record '", id, "' in collection '", collection, "'"));
}

// Prefixes an Open-time error with the path, keeping its code.
absl::Status AtPath(const std::string& path, const absl::Status& status) {
  return absl::Status(status.code(), StrCat("SQLite database '", path, "': ", status.message()));
}

absl::Status ValidateOptions(const SqliteOptions& options) {
  if (options.pool_size < 1 || options.pool_size > kMaxPoolSize) {
    return absl::InvalidArgumentError(
        StrCat("pool_size is ", options.pool_size, "; it must be in [1, ", kMaxPoolSize, "]"));
  }
  if (options.busy_timeout_ms < 0) {
    return absl::InvalidArgumentError("busy_timeout_ms must not be negative");
  }
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock must not be null");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                               const SqliteOptions& options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  const Connection::Options conn_options{options.busy_timeout_ms, options.synchronous_full};
  std::vector<std::unique_ptr<Connection>> connections;

  absl::StatusOr<std::unique_ptr<Connection>> first = Connection::Open(path, conn_options);
  if (!first.ok()) return first.status();
  // journal_mode is a property of the file, so setting it once is enough; the
  // pragma answers the mode actually in force.
  absl::StatusOr<std::string> mode = (*first)->QueryText("PRAGMA journal_mode=WAL");
  if (!mode.ok()) {
    return absl::UnavailableError(
        StrCat("cannot use SQLite database '", path, "': ", mode.status().message()));
  }
  if (*mode != "wal") {
    return absl::FailedPreconditionError(
        StrCat("SQLite database '", path, "' cannot use WAL journal mode (it reports '", *mode,
               "'); the store needs a database file on a local filesystem"));
  }
  absl::StatusOr<int> version =
      sqlite::Migrate(**first, sqlite::BuiltinMigrations(), *options.clock);
  if (!version.ok()) return AtPath(path, version.status());
  connections.push_back(*std::move(first));

  for (int i = 1; i < options.pool_size; ++i) {
    absl::StatusOr<std::unique_ptr<Connection>> conn = Connection::Open(path, conn_options);
    if (!conn.ok()) return conn.status();
    connections.push_back(*std::move(conn));
  }
  auto pool = std::make_unique<ConnectionPool>(std::move(connections),
                                               absl::Milliseconds(options.busy_timeout_ms));
  return absl::WrapUnique(new SqliteStore(std::move(pool), *options.clock, *version));
}

int64_t SqliteStore::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
      .count();
}

absl::StatusOr<Record> SqliteStore::Create(std::string_view tenant, std::string_view collection,
                                           std::string_view id, std::string_view body) {
  if (absl::Status s = ValidateRecordKey(tenant, collection, id); !s.ok()) return s;
  if (absl::Status s = ValidateBody(body); !s.ok()) return s;
  absl::MutexLock write(&write_mu_);
  absl::StatusOr<ConnectionPool::Lease> conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  const int64_t now = NowMs();
  absl::StatusOr<Statement> stmt = (*conn)->Prepare(kInsertSql);
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = BindKey(*stmt, tenant, collection, id); !s.ok()) return s;
  if (absl::Status s = stmt->BindText(4, body); !s.ok()) return s;
  if (absl::Status s = stmt->BindInt(5, now); !s.ok()) return s;
  absl::Status s = stmt->Run();
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(
        StrCat("record '", id, "' already exists in collection '", collection, "'"));
  }
  if (!s.ok()) return s;
  return MakeRecord(tenant, collection, id, body, /*version=*/1, now, now);
}

absl::StatusOr<Record> SqliteStore::Get(std::string_view tenant, std::string_view collection,
                                        std::string_view id) {
  if (absl::Status s = ValidateRecordKey(tenant, collection, id); !s.ok()) return s;
  absl::StatusOr<ConnectionPool::Lease> conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> stmt = (*conn)->Prepare(kGetSql);
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = BindKey(*stmt, tenant, collection, id); !s.ok()) return s;
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound(collection, id);
  return MakeRecord(tenant, collection, id, stmt->ColumnText(0), stmt->ColumnInt(1),
                    stmt->ColumnInt(2), stmt->ColumnInt(3));
}

absl::StatusOr<Record> SqliteStore::Update(std::string_view tenant, std::string_view collection,
                                           std::string_view id, std::string_view body,
                                           int64_t expected_version) {
  if (absl::Status s = ValidateRecordKey(tenant, collection, id); !s.ok()) return s;
  if (absl::Status s = ValidateBody(body); !s.ok()) return s;
  absl::MutexLock write(&write_mu_);
  absl::StatusOr<ConnectionPool::Lease> conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  // IMMEDIATE takes the write lock before the read, so the version checked is
  // the version replaced, even against writers in other processes.
  if (absl::Status s = RunCached(**conn, "BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::StatusOr<Record> record =
      UpdateInTransaction(**conn, tenant, collection, id, body, expected_version);
  if (!record.ok()) {
    (*conn)->RollbackIfOpen();
    return record.status();
  }
  if (absl::Status s = RunCached(**conn, "COMMIT"); !s.ok()) {
    (*conn)->RollbackIfOpen();
    return s;
  }
  return record;
}

absl::StatusOr<Record> SqliteStore::UpdateInTransaction(Connection& conn, std::string_view tenant,
                                                        std::string_view collection,
                                                        std::string_view id, std::string_view body,
                                                        int64_t expected_version) {
  int64_t version = 0;
  int64_t created_ms = 0;
  {
    absl::StatusOr<Statement> select = conn.Prepare(kVersionSql);
    if (!select.ok()) return select.status();
    if (absl::Status s = BindKey(*select, tenant, collection, id); !s.ok()) return s;
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) return NotFound(collection, id);
    version = select->ColumnInt(0);
    created_ms = select->ColumnInt(1);
  }
  if (expected_version > 0 && version != expected_version) {
    return absl::AbortedError(StrCat("record '", id, "' is at version ", version,
                                     ", not the expected ", expected_version));
  }
  const int64_t now = NowMs();
  absl::StatusOr<Statement> update = conn.Prepare(kUpdateSql);
  if (!update.ok()) return update.status();
  if (absl::Status s = BindKey(*update, tenant, collection, id); !s.ok()) return s;
  if (absl::Status s = update->BindText(4, body); !s.ok()) return s;
  if (absl::Status s = update->BindInt(5, now); !s.ok()) return s;
  if (absl::Status s = update->Run(); !s.ok()) return s;
  return MakeRecord(tenant, collection, id, body, version + 1, created_ms, now);
}

absl::Status SqliteStore::Delete(std::string_view tenant, std::string_view collection,
                                 std::string_view id) {
  if (absl::Status s = ValidateRecordKey(tenant, collection, id); !s.ok()) return s;
  absl::MutexLock write(&write_mu_);
  absl::StatusOr<ConnectionPool::Lease> conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> stmt = (*conn)->Prepare(kDeleteSql);
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = BindKey(*stmt, tenant, collection, id); !s.ok()) return s;
  if (absl::Status s = stmt->Run(); !s.ok()) return s;
  if (stmt->Changes() == 0) return NotFound(collection, id);
  return absl::OkStatus();
}

absl::StatusOr<RecordPage> SqliteStore::List(std::string_view tenant, std::string_view collection,
                                             const ListOptions& options) {
  if (absl::Status s = ValidateScope(tenant, collection); !s.ok()) return s;
  if (absl::Status s = ValidateListOptions(options); !s.ok()) return s;
  absl::StatusOr<ConnectionPool::Lease> conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> stmt = (*conn)->Prepare(kListSql);
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = BindKey(*stmt, tenant, collection, options.after_id); !s.ok()) return s;
  // One row past the page tells whether a next page exists.
  if (absl::Status s = stmt->BindInt(4, options.limit + 1); !s.ok()) return s;
  RecordPage page;
  page.records.reserve(options.limit);
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (page.records.size() == static_cast<size_t>(options.limit)) {
      page.next_cursor = page.records.back().id;
      break;
    }
    page.records.push_back(MakeRecord(tenant, collection, stmt->ColumnText(0), stmt->ColumnText(1),
                                      stmt->ColumnInt(2), stmt->ColumnInt(3), stmt->ColumnInt(4)));
  }
  return page;
}

absl::StatusOr<int64_t> SqliteStore::AdminCountAllTenants(std::string_view collection) {
  if (absl::Status s = ValidateCollection(collection); !s.ok()) return s;
  absl::StatusOr<ConnectionPool::Lease> conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> stmt = (*conn)->Prepare(kCountSql);
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = stmt->BindText(1, collection); !s.ok()) return s;
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? stmt->ColumnInt(0) : 0;
}

absl::Status SqliteStore::AdminDeleteTenant(std::string_view tenant) {
  if (tenant.empty()) return absl::InvalidArgumentError("tenant: must not be empty");
  absl::StatusOr<ConnectionPool::Lease> conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> stmt = (*conn)->Prepare("DELETE FROM records WHERE tenant_id = ?1");
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = stmt->BindText(1, tenant); !s.ok()) return s;
  return stmt->Step().status();
}

absl::Status SqliteStore::Ping() {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  return RunCached(**conn, kPingSql);
}

absl::StatusOr<std::string> SqliteStore::PragmaForTest(std::string_view name) {
  absl::StatusOr<ConnectionPool::Lease> conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  return (*conn)->QueryText(StrCat("PRAGMA ", name));
}

}  // namespace basalt
