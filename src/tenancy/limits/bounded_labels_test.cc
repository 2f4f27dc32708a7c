#include "tenancy/limits/bounded_labels.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"

namespace basalt::limits {
namespace {

TEST(BoundedLabelsTest, FirstNKeepTheirLabelThenOther) {
  BoundedLabels labels(3);
  EXPECT_EQ(labels.Label("a"), "a");
  EXPECT_EQ(labels.Label("b"), "b");
  EXPECT_EQ(labels.Label("a"), "a");
  EXPECT_EQ(labels.Label("c"), "c");
  EXPECT_EQ(labels.Label("d"), "other");
  EXPECT_EQ(labels.Label("b"), "b");
  EXPECT_EQ(labels.size(), 3u);
}

TEST(BoundedLabelsTest, SeedGivesTopTenantsTheirPlace) {
  BoundedLabels labels(2, "rest");
  labels.Seed({"big", "bigger", "small"});
  EXPECT_EQ(labels.Label("new"), "rest");
  EXPECT_EQ(labels.Label("big"), "big");
  EXPECT_EQ(labels.Label("bigger"), "bigger");
  EXPECT_EQ(labels.Label("small"), "rest");
}

TEST(BoundedLabelsTest, ViewsStayValid) {
  BoundedLabels labels(50);
  std::string value = "tenant-x";
  std::string_view label = labels.Label(value);
  value = "changed";
  EXPECT_EQ(label, "tenant-x");
}

TEST(BoundedLabelsTest, ConcurrentCallersAgreeAndStayBounded) {
  BoundedLabels labels(50);
  std::vector<std::thread> threads;
  std::vector<std::set<std::string>> seen(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 200; ++i) {
          seen[t].insert(std::string(labels.Label(StrCat("tenant-", i))));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(labels.size(), 50u);
  for (const auto& s : seen) {
    EXPECT_LE(s.size(), 51u);  // 50 own labels plus "other"
    EXPECT_EQ(s, seen[0]);     // every thread saw the same mapping
  }
  EXPECT_TRUE(seen[0].count("other"));
}

TEST(BoundedLabelsTest, ZeroMeansEverythingIsOther) {
  BoundedLabels labels(0);
  EXPECT_EQ(labels.Label("a"), "other");
}

}  // namespace
}  // namespace basalt::limits
