#include "rag/filter/attribute_columns.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace basalt::rag {
namespace {

using nlohmann::json;

// Small pools, so that equal values, prefixes and substrings are common.
const char* const kKeys[] = {"a", "b", "c", "d", "never"};
const char* const kStrings[] = {"", "x", "xy", "xyz", "yx", "report", "rep", "eu", "unseen"};

AttributeValue RandomValue(std::mt19937& rng) {
  switch (rng() % 5) {
    case 0:
      return std::string(kStrings[rng() % 8]);  // never "unseen"
    case 1:
      return static_cast<double>(static_cast<int>(rng() % 7) - 3) / 2;
    case 2:
      return rng() % 2 == 0;
    default: {
      std::vector<std::string> list;
      const size_t n = rng() % 4;
      for (size_t i = 0; i < n; ++i) list.emplace_back(kStrings[rng() % 8]);
      return list;
    }
  }
}

Attributes RandomAttributes(std::mt19937& rng) {
  Attributes a;
  for (int k = 0; k < 4; ++k) {
    if (rng() % 3 != 0) a[kKeys[k]] = RandomValue(rng);
  }
  return a;
}

json ValueJson(std::mt19937& rng) {
  switch (rng() % 4) {
    case 0:
      return kStrings[rng() % 9];
    case 1:
      return static_cast<double>(static_cast<int>(rng() % 7) - 3) / 2;
    case 2:
      return rng() % 2 == 0;
    default: {
      json list = json::array();
      const size_t n = 1 + rng() % 2;
      for (size_t i = 0; i < n; ++i) list.push_back(kStrings[rng() % 9]);
      return list;
    }
  }
}

json RandomFilter(std::mt19937& rng, int depth) {
  const std::string key = kKeys[rng() % 5];
  const int pick = static_cast<int>(rng() % (depth < 3 ? 14 : 11));
  switch (pick) {
    case 0:
      return {{"equals", {{"key", key}, {"value", ValueJson(rng)}}}};
    case 1:
      return {{"notEquals", {{"key", key}, {"value", ValueJson(rng)}}}};
    case 2:
    case 3:
    case 4:
    case 5: {
      const char* ops[] = {"greaterThan", "greaterThanOrEquals", "lessThan", "lessThanOrEquals"};
      return {{ops[pick - 2], {{"key", key}, {"value", static_cast<int>(rng() % 5) - 2}}}};
    }
    case 6:
    case 7: {
      json values = json::array();
      const size_t n = 1 + rng() % 4;
      for (size_t i = 0; i < n; ++i) values.push_back(ValueJson(rng));
      return {{pick == 6 ? "in" : "notIn", {{"key", key}, {"value", values}}}};
    }
    case 8:
      return {{"startsWith", {{"key", key}, {"value", kStrings[rng() % 9]}}}};
    case 9:
      return {{"stringContains", {{"key", key}, {"value", kStrings[rng() % 9]}}}};
    case 10:
      return {{"listContains", {{"key", key}, {"value", kStrings[rng() % 9]}}}};
    default: {
      json members = json::array();
      const size_t n = 2 + rng() % 3;
      for (size_t i = 0; i < n; ++i) members.push_back(RandomFilter(rng, depth + 1));
      return {{rng() % 2 == 0 ? "andAll" : "orAll", members}};
    }
  }
}

TEST(AttributeColumnsTest, EvaluateIsMatchesOnRandomDocumentsAndFilters) {
  std::mt19937 rng(11);
  constexpr size_t kDocs = 400;
  std::vector<Attributes> docs(kDocs);
  AttributeColumns columns;
  for (size_t i = 0; i < kDocs; ++i) {
    docs[i] = RandomAttributes(rng);
    columns.Set(static_cast<uint32_t>(i), docs[i]);
  }
  // Replace every document many times (string-list pools fill with garbage
  // and are rebuilt), then some more and clear some, as versions do.
  for (int round = 0; round < 30; ++round) {
    for (size_t i = 0; i < kDocs; ++i) {
      docs[i] = RandomAttributes(rng);
      columns.Set(static_cast<uint32_t>(i), docs[i]);
    }
  }
  for (size_t i = 0; i < kDocs; i += 7) {
    docs[i] = RandomAttributes(rng);
    columns.Set(static_cast<uint32_t>(i), docs[i]);
  }
  for (size_t i = 3; i < kDocs; i += 11) {
    docs[i].clear();
    columns.Clear(static_cast<uint32_t>(i));
  }
  size_t compared = 0, passed = 0;
  std::vector<uint8_t> out;
  for (int f = 0; f < 600; ++f) {
    const json j = RandomFilter(rng, 1);
    absl::StatusOr<RetrievalFilter> filter = RetrievalFilter::Compile(j);
    if (!filter.ok()) continue;  // e.g. an empty string where none is allowed
    // Slots past the last one set have no attributes.
    columns.Evaluate(*filter, kDocs + 5, out);
    ASSERT_EQ(out.size(), kDocs + 5);
    for (size_t i = 0; i < kDocs + 5; ++i) {
      const bool want = filter->Matches(i < kDocs ? docs[i] : Attributes());
      ASSERT_EQ(out[i] != 0, want) << j.dump() << " on document " << i;
      passed += want;
      ++compared;
    }
  }
  EXPECT_GT(compared, 100000u);
  // Neither everything nor nothing: the filters discriminate.
  EXPECT_GT(passed, compared / 10);
  EXPECT_LT(passed, compared * 9 / 10);
}

TEST(AttributeColumnsTest, ValuesNeverSeenMatchNothingButNegations) {
  AttributeColumns columns;
  columns.Set(0, {{"kind", std::string("memo")}, {"tags", std::vector<std::string>{"a"}}});
  std::vector<uint8_t> out;
  auto eval = [&](const json& j) {
    absl::StatusOr<RetrievalFilter> f = RetrievalFilter::Compile(j);
    EXPECT_TRUE(f.ok()) << j.dump();
    columns.Evaluate(*f, 2, out);
    return std::vector<int>(out.begin(), out.end());
  };
  EXPECT_EQ(eval({{"equals", {{"key", "kind"}, {"value", "letter"}}}}), (std::vector<int>{0, 0}));
  EXPECT_EQ(eval({{"notEquals", {{"key", "kind"}, {"value", "letter"}}}}), (std::vector<int>{1, 1}));
  EXPECT_EQ(eval({{"listContains", {{"key", "tags"}, {"value", "b"}}}}), (std::vector<int>{0, 0}));
  EXPECT_EQ(eval({{"notIn", {{"key", "nokey"}, {"value", {"x"}}}}}), (std::vector<int>{1, 1}));
  EXPECT_EQ(eval({{"equals", {{"key", "kind"}, {"value", "memo"}}}}), (std::vector<int>{1, 0}));
}

}  // namespace
}  // namespace basalt::rag
