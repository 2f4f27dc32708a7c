// SQLite-specific behaviour: settings, persistence across reopen, schema
// versions, lock contention and concurrent writers. The Store contract itself
// is covered in store_contract_test.cc.
#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/sqlite/migrations.h"
#include "store/store_test_util.h"

namespace basalt {
namespace {

using ::basalt::testing::TempDir;
using ::testing::HasSubstr;

// A raw connection for looking under the adapter, closed on destruction.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  int64_t QueryInt(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    int64_t value = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(SqliteStoreTest, OpensInWalModeWithFullSyncAndForeignKeys) {
  TempDir dir;
  auto store = SqliteStore::Open(dir.File("s.db"), {});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->PragmaForTest("journal_mode"), "wal");
  EXPECT_EQ(*(*store)->PragmaForTest("synchronous"), "2");  // 2 = FULL
  EXPECT_EQ(*(*store)->PragmaForTest("foreign_keys"), "1");
  EXPECT_EQ(*(*store)->PragmaForTest("busy_timeout"), "5000");
  EXPECT_EQ((*store)->SchemaVersion(), static_cast<int>(sqlite::BuiltinMigrations().size()));
}

TEST(SqliteStoreTest, DataAndSchemaPersistAcrossReopen) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    auto store = SqliteStore::Open(path, {});
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Create("t1", "jobs", "a", R"({"kept":true})").ok());
    ASSERT_TRUE((*store)->Update("t1", "jobs", "a", R"({"kept":"yes"})", 1).ok());
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto store = SqliteStore::Open(path, {});
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<Record> got = (*store)->Get("t1", "jobs", "a");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->body, R"({"kept":"yes"})");
    EXPECT_EQ(got->version, 2);
  }
  // Each migration is recorded once, however often the file is opened.
  RawDb raw(path);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM schema_migrations"),
            static_cast<int64_t>(sqlite::BuiltinMigrations().size()));
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM schema_migrations WHERE applied_at > 0"),
            raw.QueryInt("SELECT COUNT(*) FROM schema_migrations"));
}

TEST(SqliteStoreTest, RefusesASchemaNewerThanTheBinary) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  { ASSERT_TRUE(SqliteStore::Open(path, {}).ok()); }
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("INSERT INTO schema_migrations(version, applied_at) VALUES(999, 1)"),
              SQLITE_OK);
  }
  auto store = SqliteStore::Open(path, {});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("999"));
  EXPECT_THAT(store.status().message(), HasSubstr(path));
}

TEST(SqliteStoreTest, UnopenablePathIsUnavailableNamingThePath) {
  const std::string path = "/nonexistent-basalt-dir/sub/s.db";
  auto store = SqliteStore::Open(path, {});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr(path));
}

TEST(SqliteStoreTest, FileThatIsNotADatabaseIsUnavailable) {
  TempDir dir;
  const std::string path = dir.File("junk.db");
  std::ofstream(path) << std::string(4096, 'j');
  auto store = SqliteStore::Open(path, {});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr(path));
}

TEST(SqliteStoreTest, InMemoryDatabaseIsRefusedBecauseItCannotUseWal) {
  auto store = SqliteStore::Open(":memory:", {});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("WAL"));
}

TEST(SqliteStoreTest, BadOptionsAreInvalidArgument) {
  TempDir dir;
  SqliteOptions zero_pool;
  zero_pool.pool_size = 0;
  EXPECT_EQ(SqliteStore::Open(dir.File("s.db"), zero_pool).status().code(),
            absl::StatusCode::kInvalidArgument);
  SqliteOptions negative_timeout;
  negative_timeout.busy_timeout_ms = -1;
  EXPECT_EQ(SqliteStore::Open(dir.File("s.db"), negative_timeout).status().code(),
            absl::StatusCode::kInvalidArgument);
  SqliteOptions no_clock;
  no_clock.clock = nullptr;
  EXPECT_EQ(SqliteStore::Open(dir.File("s.db"), no_clock).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SqliteStoreTest, WriteLockHeldElsewhereIsUnavailableAfterTheTimeout) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  SqliteOptions options;
  options.busy_timeout_ms = 50;
  auto store = SqliteStore::Open(path, options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Create("t1", "jobs", "a", "1").ok());

  RawDb other(path);  // stands for another process holding the write lock
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  absl::StatusOr<Record> created = (*store)->Create("t1", "jobs", "b", "1");
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable) << created.status();
  EXPECT_EQ((*store)->Update("t1", "jobs", "a", "2", 0).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->Delete("t1", "jobs", "a").code(), absl::StatusCode::kUnavailable);
  // Readers are not blocked by a writer under WAL.
  EXPECT_EQ((*store)->Get("t1", "jobs", "a")->body, "1");
  ASSERT_EQ(other.Exec("ROLLBACK"), SQLITE_OK);

  // Once the lock is released the store works, and the failed update left no
  // transaction open on its pooled connection.
  EXPECT_TRUE((*store)->Create("t1", "jobs", "b", "1").ok());
  EXPECT_TRUE((*store)->Update("t1", "jobs", "a", "2", 1).ok());
}

TEST(SqliteStoreTest, ConcurrentWritersAndReadersAllSucceed) {
  TempDir dir;
  SqliteOptions options;
  options.pool_size = 4;
  auto opened = SqliteStore::Open(dir.File("s.db"), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  SqliteStore& store = **opened;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  ASSERT_TRUE(store.Create("shared", "counters", "c", "0").ok());

  std::vector<absl::Status> failures[kThreads];
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &failures, t] {
      const std::string tenant = absl::StrCat("tenant", t % 2);
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = absl::StrCat("w", t, "-", i);
        if (auto r = store.Create(tenant, "jobs", id, absl::StrCat("{\"i\":", i, "}")); !r.ok()) {
          failures[t].push_back(r.status());
        }
        // Unconditional updates of one shared record: every one must land.
        if (auto r = store.Update("shared", "counters", "c", "1", 0); !r.ok()) {
          failures[t].push_back(r.status());
        }
        if (auto r = store.Get(tenant, "jobs", id); !r.ok()) failures[t].push_back(r.status());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(failures[t].empty()) << "thread " << t << ": " << failures[t].front();
  }
  EXPECT_EQ(*store.AdminCountAllTenants("jobs"), kThreads * kPerThread);
  EXPECT_EQ(store.Get("shared", "counters", "c")->version, 1 + kThreads * kPerThread);
  int listed = 0;
  for (const char* tenant : {"tenant0", "tenant1"}) {
    ListOptions page{.after_id = "", .limit = 1000};
    listed += static_cast<int>(store.List(tenant, "jobs", page)->records.size());
  }
  EXPECT_EQ(listed, kThreads * kPerThread);
}

TEST(SqliteStoreTest, OptimisticUpdatesFromManyThreadsNeverLoseAWrite) {
  TempDir dir;
  auto opened = SqliteStore::Open(dir.File("s.db"), {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  SqliteStore& store = **opened;
  ASSERT_TRUE(store.Create("t", "c", "n", "0").ok());
  constexpr int kThreads = 4;
  constexpr int kIncrements = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store] {
      for (int done = 0; done < kIncrements;) {
        // Read-modify-write; retry on kAborted, as a caller would.
        absl::StatusOr<Record> r = store.Get("t", "c", "n");
        if (!r.ok()) return;
        int value = std::stoi(r->body);
        if (store.Update("t", "c", "n", std::to_string(value + 1), r->version).ok()) ++done;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(store.Get("t", "c", "n")->body, std::to_string(kThreads * kIncrements));
}

}  // namespace
}  // namespace basalt
