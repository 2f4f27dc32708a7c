#include "rag/filter/retrieval_filter.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace basalt::rag {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

RetrievalFilter MustCompile(const std::string& text) {
  absl::StatusOr<RetrievalFilter> f = RetrievalFilter::Compile(json::parse(text));
  EXPECT_TRUE(f.ok()) << text << ": " << f.status();
  return f.ok() ? *std::move(f) : RetrievalFilter();
}

std::string CompileError(const std::string& text) {
  absl::StatusOr<RetrievalFilter> f = RetrievalFilter::Compile(json::parse(text));
  EXPECT_FALSE(f.ok()) << text;
  if (f.ok()) return "";
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(f.status().message());
}

// A document with one attribute of every type.
Attributes Doc() {
  return Attributes{
      {"animal", std::string("cat")},
      {"year", 1995.0},
      {"public", true},
      {"tags", std::vector<std::string>{"pets", "indoor", "felines"}},
  };
}

bool Match(const std::string& filter, const Attributes& attrs = Doc()) {
  return MustCompile(filter).Matches(attrs);
}

TEST(RetrievalFilterTest, EqualsComparesTypeAndValue) {
  EXPECT_TRUE(Match(R"({"equals": {"key": "animal", "value": "cat"}})"));
  EXPECT_FALSE(Match(R"({"equals": {"key": "animal", "value": "Cat"}})"));
  EXPECT_TRUE(Match(R"({"equals": {"key": "year", "value": 1995}})"));
  EXPECT_TRUE(Match(R"({"equals": {"key": "year", "value": 1995.0}})"));
  EXPECT_FALSE(Match(R"({"equals": {"key": "year", "value": "1995"}})"));
  EXPECT_TRUE(Match(R"({"equals": {"key": "public", "value": true}})"));
  EXPECT_FALSE(Match(R"({"equals": {"key": "public", "value": 1}})"));
  EXPECT_TRUE(Match(R"({"equals": {"key": "tags", "value": ["pets", "indoor", "felines"]}})"));
  EXPECT_FALSE(Match(R"({"equals": {"key": "tags", "value": ["indoor", "pets", "felines"]}})"));
  EXPECT_FALSE(Match(R"({"equals": {"key": "tags", "value": "pets"}})"));
  EXPECT_FALSE(Match(R"({"equals": {"key": "missing", "value": "cat"}})"));
}

TEST(RetrievalFilterTest, NotEqualsIsTrueWhenTheKeyIsMissing) {
  EXPECT_FALSE(Match(R"({"notEquals": {"key": "animal", "value": "cat"}})"));
  EXPECT_TRUE(Match(R"({"notEquals": {"key": "animal", "value": "dog"}})"));
  EXPECT_TRUE(Match(R"({"notEquals": {"key": "year", "value": "1995"}})"));
  EXPECT_TRUE(Match(R"({"notEquals": {"key": "missing", "value": "cat"}})"));
  EXPECT_TRUE(Match(R"({"notEquals": {"key": "animal", "value": "cat"}})", Attributes{}));
}

TEST(RetrievalFilterTest, ComparisonsAreNumericOnly) {
  EXPECT_TRUE(Match(R"({"greaterThan": {"key": "year", "value": 1989}})"));
  EXPECT_FALSE(Match(R"({"greaterThan": {"key": "year", "value": 1995}})"));
  EXPECT_TRUE(Match(R"({"greaterThanOrEquals": {"key": "year", "value": 1995}})"));
  EXPECT_FALSE(Match(R"({"greaterThanOrEquals": {"key": "year", "value": 1995.5}})"));
  EXPECT_TRUE(Match(R"({"lessThan": {"key": "year", "value": 2000}})"));
  EXPECT_FALSE(Match(R"({"lessThan": {"key": "year", "value": 1995}})"));
  EXPECT_TRUE(Match(R"({"lessThanOrEquals": {"key": "year", "value": 1995}})"));
  EXPECT_FALSE(Match(R"({"lessThanOrEquals": {"key": "year", "value": -3e10}})"));
  // A missing key or a non-number attribute never compares.
  EXPECT_FALSE(Match(R"({"lessThan": {"key": "missing", "value": 5}})"));
  EXPECT_FALSE(Match(R"({"greaterThan": {"key": "animal", "value": 0}})"));
  EXPECT_FALSE(Match(R"({"lessThan": {"key": "public", "value": 5}})"));
}

TEST(RetrievalFilterTest, InAndNotIn) {
  EXPECT_TRUE(Match(R"({"in": {"key": "animal", "value": ["dog", "cat"]}})"));
  EXPECT_FALSE(Match(R"({"in": {"key": "animal", "value": ["dog", "bird"]}})"));
  EXPECT_TRUE(Match(R"({"in": {"key": "year", "value": [1990, 1995]}})"));
  EXPECT_FALSE(Match(R"({"in": {"key": "year", "value": ["1995"]}})"));
  EXPECT_FALSE(Match(R"({"in": {"key": "animal", "value": []}})"));
  EXPECT_FALSE(Match(R"({"in": {"key": "missing", "value": ["cat"]}})"));
  EXPECT_TRUE(Match(R"({"in": {"key": "tags", "value": [["pets", "indoor", "felines"]]}})"));
  EXPECT_FALSE(Match(R"({"notIn": {"key": "animal", "value": ["dog", "cat"]}})"));
  EXPECT_TRUE(Match(R"({"notIn": {"key": "animal", "value": ["dog", "bird"]}})"));
  EXPECT_TRUE(Match(R"({"notIn": {"key": "animal", "value": []}})"));
  EXPECT_TRUE(Match(R"({"notIn": {"key": "missing", "value": ["cat"]}})"));
}

TEST(RetrievalFilterTest, StringOperators) {
  EXPECT_TRUE(Match(R"({"startsWith": {"key": "animal", "value": "ca"}})"));
  EXPECT_TRUE(Match(R"({"startsWith": {"key": "animal", "value": ""}})"));
  EXPECT_FALSE(Match(R"({"startsWith": {"key": "animal", "value": "at"}})"));
  // Strings only, as in Bedrock: a list element's prefix does not count.
  EXPECT_FALSE(Match(R"({"startsWith": {"key": "tags", "value": "pe"}})"));
  EXPECT_FALSE(Match(R"({"startsWith": {"key": "missing", "value": "c"}})"));

  EXPECT_TRUE(Match(R"({"stringContains": {"key": "animal", "value": "at"}})"));
  EXPECT_FALSE(Match(R"({"stringContains": {"key": "animal", "value": "dog"}})"));
  EXPECT_TRUE(Match(R"({"stringContains": {"key": "tags", "value": "line"}})"));
  EXPECT_FALSE(Match(R"({"stringContains": {"key": "tags", "value": "outdoor"}})"));
  EXPECT_FALSE(Match(R"({"stringContains": {"key": "year", "value": "19"}})"));
  EXPECT_FALSE(Match(R"({"stringContains": {"key": "missing", "value": "a"}})"));

  EXPECT_TRUE(Match(R"({"listContains": {"key": "tags", "value": "indoor"}})"));
  EXPECT_FALSE(Match(R"({"listContains": {"key": "tags", "value": "door"}})"));
  EXPECT_FALSE(Match(R"({"listContains": {"key": "animal", "value": "cat"}})"));
  EXPECT_FALSE(Match(R"({"listContains": {"key": "missing", "value": "cat"}})"));
}

TEST(RetrievalFilterTest, AndAllOrAllNest) {
  EXPECT_TRUE(Match(R"({"andAll": [{"equals": {"key": "animal", "value": "cat"}},
                                   {"greaterThan": {"key": "year", "value": 1990}}]})"));
  EXPECT_FALSE(Match(R"({"andAll": [{"equals": {"key": "animal", "value": "cat"}},
                                    {"greaterThan": {"key": "year", "value": 2000}}]})"));
  EXPECT_TRUE(Match(R"({"orAll": [{"equals": {"key": "animal", "value": "dog"}},
                                  {"listContains": {"key": "tags", "value": "pets"}}]})"));
  EXPECT_FALSE(Match(R"({"orAll": [{"equals": {"key": "animal", "value": "dog"}},
                                   {"equals": {"key": "missing", "value": 1}}]})"));
  EXPECT_TRUE(Match(R"({"andAll": [
      {"orAll": [{"equals": {"key": "animal", "value": "dog"}},
                 {"equals": {"key": "animal", "value": "cat"}}]},
      {"notEquals": {"key": "region", "value": "eu"}},
      {"lessThanOrEquals": {"key": "year", "value": 1995}}]})"));
}

TEST(RetrievalFilterTest, ErrorsNameThePath) {
  EXPECT_EQ(CompileError(R"([])"), "filter: must be an object");
  EXPECT_THAT(CompileError(R"({})"), HasSubstr("filter: must hold exactly one operator, got 0"));
  EXPECT_THAT(CompileError(R"({"equals": {"key": "a", "value": 1}, "in": {"key": "a", "value": []}})"),
              HasSubstr("filter: must hold exactly one operator, got 2"));
  EXPECT_THAT(CompileError(R"({"like": {"key": "a", "value": 1}})"),
              HasSubstr("filter.like: unknown operator"));
  EXPECT_EQ(CompileError(R"({"andAll": [{"equals": {"key": "a", "value": 1}},
                                        {"equals": {"key": "b", "value": null}}]})"),
            "filter.andAll[1].equals.value: must be a string, number, boolean or array of strings");
  EXPECT_EQ(CompileError(R"({"equals": {"key": "a", "value": [1, 2]}})"),
            "filter.equals.value: must be a string, number, boolean or array of strings");
  EXPECT_EQ(CompileError(R"({"equals": {"value": 1}})"), "filter.equals.key: is required");
  EXPECT_EQ(CompileError(R"({"equals": {"key": "a"}})"), "filter.equals.value: is required");
  EXPECT_EQ(CompileError(R"({"equals": {"key": 3, "value": 1}})"),
            "filter.equals.key: must be a string");
  EXPECT_EQ(CompileError(R"({"equals": {"key": "", "value": 1}})"),
            "filter.equals.key: must be 1 to 100 bytes");
  EXPECT_EQ(CompileError(R"({"equals": {"key": "a", "value": 1, "extra": 2}})"),
            "filter.equals.extra: unknown field; expected key and value");
  EXPECT_EQ(CompileError(R"({"greaterThan": {"key": "a", "value": "5"}})"),
            "filter.greaterThan.value: must be a number");
  EXPECT_EQ(CompileError(R"({"in": {"key": "a", "value": "cat"}})"),
            "filter.in.value: must be an array");
  EXPECT_EQ(CompileError(R"({"notIn": {"key": "a", "value": ["x", {}]}})"),
            "filter.notIn.value[1]: must be a string, number, boolean or array of strings");
  EXPECT_EQ(CompileError(R"({"startsWith": {"key": "a", "value": 1}})"),
            "filter.startsWith.value: must be a string");
  EXPECT_EQ(CompileError(R"({"listContains": {"key": "a", "value": ["x"]}})"),
            "filter.listContains.value: must be a string");
  EXPECT_EQ(CompileError(R"({"equals": "a"})"),
            "filter.equals: must be an object with key and value");
  EXPECT_EQ(CompileError(R"({"orAll": {"equals": {"key": "a", "value": 1}}})"),
            "filter.orAll: must be an array of filters");
}

TEST(RetrievalFilterTest, CustomPathPrefix) {
  absl::StatusOr<RetrievalFilter> f = RetrievalFilter::Compile(
      json::parse(R"({"in": {"key": "a", "value": 1}})"),
      "retrievalConfiguration.vectorSearchConfiguration.filter");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(),
            "retrievalConfiguration.vectorSearchConfiguration.filter.in.value: must be an array");
}

json Leaf(int i) {
  std::string key = std::to_string(i);
  key.insert(key.begin(), 'k');
  return json{{"equals", {{"key", key}, {"value", i}}}};
}

TEST(RetrievalFilterTest, MemberCountsAreBounded) {
  EXPECT_EQ(CompileError(json{{"andAll", json::array({Leaf(1)})}}.dump()),
            "filter.andAll: must hold 2 to 5 filters, got 1");
  json six = json::array();
  for (int i = 0; i < 6; ++i) six.push_back(Leaf(i));
  EXPECT_EQ(CompileError(json{{"orAll", six}}.dump()),
            "filter.orAll: must hold 2 to 5 filters, got 6");
  json five = six;
  five.erase(five.end() - 1);
  EXPECT_TRUE(RetrievalFilter::Compile(json{{"orAll", five}}).ok());
}

TEST(RetrievalFilterTest, DepthIsBounded) {
  // Depth 8 (the limit) compiles; depth 9 does not.
  auto nested = [](int depth) {
    json f = Leaf(0);
    for (int d = 1; d < depth; ++d) f = json{{"andAll", json::array({f, Leaf(d)})}};
    return f;
  };
  EXPECT_TRUE(RetrievalFilter::Compile(nested(RetrievalFilter::kMaxDepth)).ok());
  absl::StatusOr<RetrievalFilter> deep = RetrievalFilter::Compile(nested(9));
  ASSERT_FALSE(deep.ok());
  EXPECT_THAT(deep.status().message(), HasSubstr("filters nest deeper than 8 levels"));
  EXPECT_THAT(deep.status().message(), HasSubstr("filter.andAll[0].andAll[0]"));
}

TEST(RetrievalFilterTest, NodeCountIsBounded) {
  // orAll of 5 x andAll of 5 x orAll of 5 leaves = 1 + 5 + 25 + 125 nodes > 100.
  json level3 = json::array();
  for (int i = 0; i < 5; ++i) level3.push_back(Leaf(i));
  json level2 = json::array();
  for (int i = 0; i < 5; ++i) level2.push_back(json{{"orAll", level3}});
  json level1 = json::array();
  for (int i = 0; i < 5; ++i) level1.push_back(json{{"andAll", level2}});
  absl::StatusOr<RetrievalFilter> big = RetrievalFilter::Compile(json{{"orAll", level1}});
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.status().message(), HasSubstr("at most 100 filters"));
  // 1 + 5 + 25 = 31 nodes is fine.
  EXPECT_TRUE(RetrievalFilter::Compile(json{{"orAll", level2}}).ok());
}

TEST(RetrievalFilterTest, InListSizeIsBounded) {
  json values = json::array();
  for (size_t i = 0; i <= RetrievalFilter::kMaxListValues; ++i) values.push_back(i);
  EXPECT_EQ(CompileError(json{{"in", {{"key", "a"}, {"value", values}}}}.dump()),
            "filter.in.value: must hold at most 1000 values, got 1001");
}

TEST(RetrievalFilterTest, ToJsonRoundTrips) {
  const std::string text = R"({"andAll": [
      {"orAll": [{"in": {"key": "animal", "value": ["dog", 3, true, ["a", "b"]]}},
                 {"startsWith": {"key": "animal", "value": "ca"}}]},
      {"notEquals": {"key": "region", "value": "eu"}},
      {"lessThanOrEquals": {"key": "year", "value": 1995}}]})";
  const RetrievalFilter f = MustCompile(text);
  absl::StatusOr<RetrievalFilter> again = RetrievalFilter::Compile(f.ToJson());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->Describe(), f.Describe());
  EXPECT_EQ(f.ToJson()["andAll"][2]["lessThanOrEquals"]["value"], 1995.0);
  EXPECT_EQ(f.ToJson()["andAll"][0]["orAll"][0]["in"]["value"][3], json::array({"a", "b"}));
  EXPECT_THAT(f.Keys(), ElementsAre("animal", "region", "year"));
}

TEST(RetrievalFilterTest, CopiesMatchTheSame) {
  const RetrievalFilter f = MustCompile(R"({"orAll": [{"equals": {"key": "animal", "value": "dog"}},
                                                     {"listContains": {"key": "tags", "value": "pets"}}]})");
  const RetrievalFilter copy = f;
  EXPECT_TRUE(copy.Matches(Doc()));
  EXPECT_FALSE(copy.Matches(Attributes{{"animal", std::string("cat")}}));
}

}  // namespace
}  // namespace basalt::rag
