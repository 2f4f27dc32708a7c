// The fake's own extras. Its Store behaviour is tested by store_contract_test.cc.
#include "store/memory/memory_store.h"

#include "gtest/gtest.h"

namespace basalt {
namespace {

TEST(MemoryStoreTest, InjectedErrorFailsEveryCallUntilCleared) {
  MemoryStore store;
  ASSERT_TRUE(store.Create("t", "c", "a", "1").ok());
  store.InjectErrorForTest(absl::UnavailableError("disk on fire"));
  EXPECT_EQ(store.Ping().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.Get("t", "c", "a").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.Create("t", "c", "b", "1").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.List("t", "c", {}).status().code(), absl::StatusCode::kUnavailable);
  // Validation still comes first, as in the SQLite adapter.
  EXPECT_EQ(store.Get("", "c", "a").status().code(), absl::StatusCode::kInvalidArgument);
  store.InjectErrorForTest(absl::OkStatus());
  EXPECT_TRUE(store.Ping().ok());
  EXPECT_EQ(store.Get("t", "c", "a")->body, "1");
  EXPECT_EQ(store.Get("t", "c", "b").status().code(), absl::StatusCode::kNotFound);
}

TEST(MemoryStoreTest, HasNoSchema) { EXPECT_EQ(MemoryStore().SchemaVersion(), 0); }

}  // namespace
}  // namespace basalt
