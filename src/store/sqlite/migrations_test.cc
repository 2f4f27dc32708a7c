#include "store/sqlite/migrations.h"

#include <memory>
#include <vector>

#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/sqlite/connection.h"
#include "store/store_test_util.h"

namespace basalt::sqlite {
namespace {

using ::basalt::testing::TempDir;
using ::testing::HasSubstr;

constexpr Migration kFirst = {1, "first", "CREATE TABLE a (tenant_id TEXT NOT NULL);"};
constexpr Migration kSecond = {2, "second", "CREATE TABLE b (tenant_id TEXT NOT NULL);"};
constexpr Migration kBroken = {2, "broken", "CREATE TABLE c (tenant_id TEXT); NOT SQL;"};

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = Connection::Open(dir_.File("m.db"), {});
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = *std::move(conn);
  }

  bool TableExists(const std::string& name) {
    auto text = conn_->QueryText(
        "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = '" + name + "'");
    return text.ok() && *text == "1";
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(MigrationsTest, AppliesInOrderAndIsIdempotent) {
  const std::vector<Migration> v1 = {kFirst};
  ASSERT_EQ(*Migrate(*conn_, v1, clock_), 1);
  EXPECT_TRUE(TableExists("a"));
  EXPECT_EQ(*Migrate(*conn_, v1, clock_), 1);

  // A newer binary adds a migration: only the new one runs.
  const std::vector<Migration> v2 = {kFirst, kSecond};
  ASSERT_EQ(*Migrate(*conn_, v2, clock_), 2);
  EXPECT_TRUE(TableExists("b"));
  EXPECT_EQ(*conn_->QueryText("SELECT COUNT(*) FROM schema_migrations"), "2");
  EXPECT_EQ(*conn_->QueryText("SELECT applied_at FROM schema_migrations WHERE version = 2"),
            "1700000000000");
}

TEST_F(MigrationsTest, FailingMigrationRollsBackTheWholeRun) {
  const std::vector<Migration> list = {kFirst, kBroken};
  absl::StatusOr<int> version = Migrate(*conn_, list, clock_);
  EXPECT_EQ(version.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(version.status().message(), HasSubstr("migration 2 (broken)"));
  // Not even migration 1, which ran first in the same transaction, remains.
  EXPECT_FALSE(TableExists("a"));
  EXPECT_FALSE(TableExists("c"));
  EXPECT_FALSE(conn_->InTransaction());
  // A corrected list then applies cleanly.
  const std::vector<Migration> fixed = {kFirst, kSecond};
  EXPECT_EQ(*Migrate(*conn_, fixed, clock_), 2);
}

TEST_F(MigrationsTest, MalformedListIsInternal) {
  const std::vector<Migration> gap = {kSecond};
  EXPECT_EQ(Migrate(*conn_, gap, clock_).status().code(), absl::StatusCode::kInternal);
}

TEST_F(MigrationsTest, NewerDatabaseIsFailedPrecondition) {
  const std::vector<Migration> v2 = {kFirst, kSecond};
  ASSERT_TRUE(Migrate(*conn_, v2, clock_).ok());
  const std::vector<Migration> v1 = {kFirst};
  absl::StatusOr<int> version = Migrate(*conn_, v1, clock_);
  EXPECT_EQ(version.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(version.status().message(), HasSubstr("version 2"));
  EXPECT_FALSE(conn_->InTransaction());
}

TEST(BuiltinMigrationsTest, AreNumberedFromOneWithoutGaps) {
  auto list = BuiltinMigrations();
  ASSERT_FALSE(list.empty());
  for (size_t i = 0; i < list.size(); ++i) EXPECT_EQ(list[i].version, static_cast<int>(i) + 1);
}

}  // namespace
}  // namespace basalt::sqlite
