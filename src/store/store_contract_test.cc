// One suite run against every Store adapter: the SQLite adapter and the
// in-memory fake must give the same answers, so tests written against the fake
// hold for the real thing.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/memory/memory_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_util.h"

namespace basalt {
namespace {

using ::basalt::testing::TempDir;
using ::testing::HasSubstr;

struct Adapter {
  std::string name;
  std::function<std::unique_ptr<Store>(const TempDir&, const Clock&)> make;
};

std::vector<Adapter> Adapters() {
  return {
      {"sqlite",
       [](const TempDir& dir, const Clock& clock) -> std::unique_ptr<Store> {
         SqliteOptions options;
         options.clock = &clock;
         options.pool_size = 2;
         auto store = SqliteStore::Open(dir.File("contract.db"), options);
         EXPECT_TRUE(store.ok()) << store.status();
         return store.ok() ? std::move(*store) : nullptr;
       }},
      {"memory",
       [](const TempDir&, const Clock& clock) -> std::unique_ptr<Store> {
         return std::make_unique<MemoryStore>(clock);
       }},
  };
}

class StoreContractTest : public ::testing::TestWithParam<Adapter> {
 protected:
  void SetUp() override {
    store_ = GetParam().make(dir_, clock_);
    ASSERT_NE(store_, nullptr);
  }

  int64_t NowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
        .count();
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContractTest, CreateThenGetRoundTrips) {
  absl::StatusOr<Record> created = store_->Create("t1", "jobs", "a", R"({"x":1,"s":"é"})");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->version, 1);
  EXPECT_EQ(created->created_ms, NowMs());
  EXPECT_EQ(created->updated_ms, NowMs());

  absl::StatusOr<Record> got = store_->Get("t1", "jobs", "a");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->tenant, "t1");
  EXPECT_EQ(got->collection, "jobs");
  EXPECT_EQ(got->id, "a");
  EXPECT_EQ(got->body, R"({"x":1,"s":"é"})");
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->created_ms, created->created_ms);
  EXPECT_EQ(got->updated_ms, created->updated_ms);
}

TEST_P(StoreContractTest, CreateTwiceIsAlreadyExistsAndKeepsTheFirst) {
  ASSERT_TRUE(store_->Create("t1", "jobs", "a", "1").ok());
  absl::StatusOr<Record> again = store_->Create("t1", "jobs", "a", "2");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->Get("t1", "jobs", "a")->body, "1");
}

TEST_P(StoreContractTest, GetMissingIsNotFound) {
  EXPECT_EQ(store_->Get("t1", "jobs", "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreContractTest, UpdateBumpsVersionAndUpdatedTime) {
  absl::StatusOr<Record> created = store_->Create("t1", "jobs", "a", R"({"n":1})");
  ASSERT_TRUE(created.ok());
  clock_.Advance(std::chrono::seconds(5));
  absl::StatusOr<Record> updated = store_->Update("t1", "jobs", "a", R"({"n":2})", 1);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(updated->body, R"({"n":2})");
  EXPECT_EQ(updated->created_ms, created->created_ms);
  EXPECT_EQ(updated->updated_ms, created->created_ms + 5000);

  absl::StatusOr<Record> got = store_->Get("t1", "jobs", "a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->body, R"({"n":2})");
  EXPECT_EQ(got->updated_ms, updated->updated_ms);
}

TEST_P(StoreContractTest, UpdateWithStaleVersionIsAbortedAndChangesNothing) {
  ASSERT_TRUE(store_->Create("t1", "jobs", "a", R"({"n":1})").ok());
  ASSERT_TRUE(store_->Update("t1", "jobs", "a", R"({"n":2})", 1).ok());
  absl::StatusOr<Record> stale = store_->Update("t1", "jobs", "a", R"({"n":3})", 1);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(stale.status().message(), HasSubstr("version 2"));
  absl::StatusOr<Record> got = store_->Get("t1", "jobs", "a");
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->body, R"({"n":2})");
}

TEST_P(StoreContractTest, UpdateWithoutExpectedVersionAlwaysApplies) {
  ASSERT_TRUE(store_->Create("t1", "jobs", "a", "1").ok());
  ASSERT_TRUE(store_->Update("t1", "jobs", "a", "2", 0).ok());
  absl::StatusOr<Record> third = store_->Update("t1", "jobs", "a", "3", 0);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->version, 3);
}

TEST_P(StoreContractTest, UpdateMissingIsNotFound) {
  EXPECT_EQ(store_->Update("t1", "jobs", "nope", "1", 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Update("t1", "jobs", "nope", "1", 3).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreContractTest, DeleteRemovesAndSecondDeleteIsNotFound) {
  ASSERT_TRUE(store_->Create("t1", "jobs", "a", "1").ok());
  EXPECT_TRUE(store_->Delete("t1", "jobs", "a").ok());
  EXPECT_EQ(store_->Get("t1", "jobs", "a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("t1", "jobs", "a").code(), absl::StatusCode::kNotFound);
  // The id is free again and starts over at version 1.
  absl::StatusOr<Record> again = store_->Create("t1", "jobs", "a", "2");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version, 1);
}

TEST_P(StoreContractTest, TenantsAreIsolated) {
  ASSERT_TRUE(store_->Create("tenant-a", "jobs", "x", R"({"secret":true})").ok());
  EXPECT_EQ(store_->Get("tenant-b", "jobs", "x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Update("tenant-b", "jobs", "x", "{}", 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("tenant-b", "jobs", "x").code(), absl::StatusCode::kNotFound);
  absl::StatusOr<RecordPage> page_b = store_->List("tenant-b", "jobs", {});
  ASSERT_TRUE(page_b.ok());
  EXPECT_TRUE(page_b->records.empty());
  EXPECT_TRUE(page_b->next_cursor.empty());

  // Tenant B may use the same id for its own record.
  ASSERT_TRUE(store_->Create("tenant-b", "jobs", "x", R"({"mine":true})").ok());
  EXPECT_EQ(store_->Get("tenant-a", "jobs", "x")->body, R"({"secret":true})");
  EXPECT_EQ(store_->Get("tenant-b", "jobs", "x")->body, R"({"mine":true})");
  EXPECT_EQ(*store_->AdminCountAllTenants("jobs"), 2);
}

TEST_P(StoreContractTest, CollectionsAreSeparate) {
  ASSERT_TRUE(store_->Create("t1", "jobs", "x", "1").ok());
  EXPECT_EQ(store_->Get("t1", "docs", "x").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->Create("t1", "docs", "x", "2").ok());
  EXPECT_EQ(store_->List("t1", "jobs", {})->records.size(), 1u);
  EXPECT_EQ(*store_->AdminCountAllTenants("docs"), 1);
  EXPECT_EQ(*store_->AdminCountAllTenants("empty"), 0);
}

TEST_P(StoreContractTest, ListPagesThroughEveryRecordInIdOrder) {
  // Created out of order; ids zero-padded so byte order is numeric order.
  for (int i = 24; i >= 0; --i) {
    char id[8];
    snprintf(id, sizeof(id), "r%02d", i);
    ASSERT_TRUE(store_->Create("t1", "jobs", id, "{}").ok());
  }
  ASSERT_TRUE(store_->Create("t2", "jobs", "r05", "{}").ok());   // another tenant's
  ASSERT_TRUE(store_->Create("t1", "other", "r05", "{}").ok());  // another collection's

  std::vector<std::string> seen;
  std::vector<size_t> page_sizes;
  ListOptions options{.after_id = "", .limit = 10};
  for (int pages = 0; pages < 10; ++pages) {
    absl::StatusOr<RecordPage> page = store_->List("t1", "jobs", options);
    ASSERT_TRUE(page.ok()) << page.status();
    page_sizes.push_back(page->records.size());
    for (const Record& r : page->records) {
      EXPECT_EQ(r.tenant, "t1");
      EXPECT_EQ(r.collection, "jobs");
      seen.push_back(r.id);
    }
    if (page->next_cursor.empty()) break;
    EXPECT_EQ(page->next_cursor, page->records.back().id);
    options.after_id = page->next_cursor;
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{10, 10, 5}));
  ASSERT_EQ(seen.size(), 25u);
  for (int i = 0; i < 25; ++i) {
    char id[8];
    snprintf(id, sizeof(id), "r%02d", i);
    EXPECT_EQ(seen[i], id);
  }
}

TEST_P(StoreContractTest, ListExactlyOnePageHasNoCursor) {
  for (const char* id : {"a", "b", "c"}) ASSERT_TRUE(store_->Create("t1", "jobs", id, "1").ok());
  absl::StatusOr<RecordPage> page = store_->List("t1", "jobs", {.after_id = "", .limit = 3});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->records.size(), 3u);
  EXPECT_TRUE(page->next_cursor.empty());
  // A cursor between ids starts after it.
  page = store_->List("t1", "jobs", {.after_id = "aa", .limit = 100});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 2u);
  EXPECT_EQ(page->records[0].id, "b");
}

TEST_P(StoreContractTest, ListOrdersIdsBytewise) {
  // Upper case sorts before lower case, and UTF-8 multi-byte after ASCII.
  for (const char* id : {"b", "é", "A", "a"}) ASSERT_TRUE(store_->Create("t", "c", id, "1").ok());
  absl::StatusOr<RecordPage> page = store_->List("t", "c", {});
  ASSERT_TRUE(page.ok());
  std::vector<std::string> ids;
  for (const Record& r : page->records) ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"A", "a", "b", "é"}));
}

TEST_P(StoreContractTest, ListLimitMustBeWithinBounds) {
  EXPECT_EQ(store_->List("t1", "jobs", {.after_id = "", .limit = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->List("t1", "jobs", {.after_id = "", .limit = 1001}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store_->List("t1", "jobs", {.after_id = "", .limit = -5}).status().message(),
              HasSubstr("limit"));
  EXPECT_TRUE(store_->List("t1", "jobs", {.after_id = "", .limit = 1}).ok());
  EXPECT_TRUE(store_->List("t1", "jobs", {.after_id = "", .limit = 1000}).ok());
}

TEST_P(StoreContractTest, InvalidInputIsRejectedNamingTheFieldAndChangesNothing) {
  ASSERT_TRUE(store_->Create("t1", "jobs", "keep", R"({"v":1})").ok());
  const std::string long_id(257, 'x');
  struct Case {
    absl::Status status;
    std::string field;
  };
  const std::vector<Case> cases = {
      {store_->Create("", "jobs", "keep", "{}").status(), "tenant"},
      {store_->Create("t1", "", "keep", "{}").status(), "collection"},
      {store_->Create("t1", "jobs", "", "{}").status(), "id"},
      {store_->Create("t1", "jobs", long_id, "{}").status(), "id"},
      {store_->Create("t1", "jobs", "new", "{not json").status(), "body"},
      {store_->Create("t1", "jobs", "new", "").status(), "body"},
      {store_->Create("t1", "jobs", "new", "{} {}").status(), "body"},
      {store_->Update("t1", "jobs", "keep", "[1,", 0).status(), "body"},
      {store_->Update("", "jobs", "keep", "{}", 0).status(), "tenant"},
      {store_->Get("t1", "jobs", "").status(), "id"},
      {store_->Get("t1", "", "keep").status(), "collection"},
      {store_->Delete("t1", "jobs", long_id), "id"},
      {store_->Delete("", "jobs", "keep"), "tenant"},
      {store_->List("", "jobs", {}).status(), "tenant"},
      {store_->List("t1", "jobs", {.after_id = long_id, .limit = 10}).status(), "after_id"},
      {store_->AdminCountAllTenants("").status(), "collection"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(cases[i].status.code(), absl::StatusCode::kInvalidArgument) << "case " << i;
    EXPECT_THAT(cases[i].status.message(), HasSubstr(cases[i].field)) << "case " << i;
  }
  absl::StatusOr<Record> kept = store_->Get("t1", "jobs", "keep");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->body, R"({"v":1})");
  EXPECT_EQ(kept->version, 1);
  EXPECT_EQ(*store_->AdminCountAllTenants("jobs"), 1);
}

TEST_P(StoreContractTest, IdOfExactlyTheLimitIsAccepted) {
  const std::string id(256, 'y');
  ASSERT_TRUE(store_->Create("t1", "jobs", id, "null").ok());
  EXPECT_EQ(store_->Get("t1", "jobs", id)->id, id);
}

TEST_P(StoreContractTest, AnyJsonValueIsAValidBody) {
  for (const char* body :
       {"null", "true", "42", R"("s")", "[]", R"({"a":[1,{"b":null}]})", " {\"ws\": 1}\n"}) {
    absl::StatusOr<Record> r = store_->Create("t1", "jobs", body, body);
    ASSERT_TRUE(r.ok()) << body << ": " << r.status();
    EXPECT_EQ(store_->Get("t1", "jobs", body)->body, body);
  }
}

TEST_P(StoreContractTest, LargeBodyRoundTrips) {
  std::string body = "[";
  for (int i = 0; i < 20000; ++i) body += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  body += "]";
  ASSERT_TRUE(store_->Create("t1", "jobs", "big", body).ok());
  EXPECT_EQ(store_->Get("t1", "jobs", "big")->body, body);
}

TEST_P(StoreContractTest, PingIsOk) { EXPECT_TRUE(store_->Ping().ok()); }

INSTANTIATE_TEST_SUITE_P(Adapters, StoreContractTest, ::testing::ValuesIn(Adapters()),
                         [](const ::testing::TestParamInfo<Adapter>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace basalt
