#include "rag/chunk/chunking.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace basalt::rag {
namespace {

using nlohmann::json;

ChunkingConfig ParseOk(const json& j) {
  auto c = ParseChunkingConfig(j);
  EXPECT_TRUE(c.ok()) << j.dump() << ": " << c.status();
  return c.ok() ? *c : ChunkingConfig{};
}

std::string ParseError(const json& j) {
  auto c = ParseChunkingConfig(j);
  EXPECT_FALSE(c.ok()) << j.dump();
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}

TEST(ChunkingConfigTest, AbsentMeansDefault) {
  const ChunkingConfig c = ParseOk(json());
  EXPECT_EQ(c.strategy, ChunkingStrategy::kDefault);
  EXPECT_EQ(c.max_tokens, 300);
  EXPECT_EQ(ParseOk(json{{"chunkingStrategy", "DEFAULT"}}).strategy, ChunkingStrategy::kDefault);
}

TEST(ChunkingConfigTest, ParsesBedrockShapes) {
  ChunkingConfig c = ParseOk(json::parse(R"({"chunkingStrategy": "FIXED_SIZE",
      "fixedSizeChunkingConfiguration": {"maxTokens": 512, "overlapPercentage": 10}})"));
  EXPECT_EQ(c.strategy, ChunkingStrategy::kFixedSize);
  EXPECT_EQ(c.max_tokens, 512);
  EXPECT_EQ(c.overlap_percentage, 10);

  c = ParseOk(json::parse(R"({"chunkingStrategy": "HIERARCHICAL",
      "hierarchicalChunkingConfiguration": {
        "levelConfigurations": [{"maxTokens": 2000}, {"maxTokens": 250}], "overlapTokens": 40}})"));
  EXPECT_EQ(c.strategy, ChunkingStrategy::kHierarchical);
  EXPECT_EQ(c.parent_max_tokens, 2000);
  EXPECT_EQ(c.child_max_tokens, 250);
  EXPECT_EQ(c.overlap_tokens, 40);

  c = ParseOk(json::parse(R"({"chunkingStrategy": "SEMANTIC",
      "semanticChunkingConfiguration": {
        "maxTokens": 400, "bufferSize": 1, "breakpointPercentileThreshold": 90}})"));
  EXPECT_EQ(c.strategy, ChunkingStrategy::kSemantic);
  EXPECT_EQ(c.max_tokens, 400);
  EXPECT_EQ(c.buffer_size, 1);
  EXPECT_EQ(c.breakpoint_percentile, 90);

  EXPECT_EQ(ParseOk(json{{"chunkingStrategy", "NONE"}}).strategy, ChunkingStrategy::kNone);
  c = ParseOk(json{{"chunkingStrategy", "MARKDOWN"}});
  EXPECT_EQ(c.strategy, ChunkingStrategy::kMarkdown);
  EXPECT_EQ(c.max_tokens, 300);
  c = ParseOk(json::parse(
      R"({"chunkingStrategy": "MARKDOWN", "markdownChunkingConfiguration": {"maxTokens": 800}})"));
  EXPECT_EQ(c.max_tokens, 800);
}

TEST(ChunkingConfigTest, RoundTripsEveryStrategy) {
  const char* shapes[] = {
      R"({"chunkingStrategy":"DEFAULT"})",
      R"({"chunkingStrategy":"NONE"})",
      R"({"chunkingStrategy":"FIXED_SIZE","fixedSizeChunkingConfiguration":{"maxTokens":8192,"overlapPercentage":99}})",
      R"({"chunkingStrategy":"HIERARCHICAL","hierarchicalChunkingConfiguration":{"levelConfigurations":[{"maxTokens":1500},{"maxTokens":300}],"overlapTokens":60}})",
      R"({"chunkingStrategy":"SEMANTIC","semanticChunkingConfiguration":{"breakpointPercentileThreshold":50,"bufferSize":0,"maxTokens":1}})",
      R"({"chunkingStrategy":"MARKDOWN","markdownChunkingConfiguration":{"maxTokens":300}})",
  };
  for (const char* shape : shapes) {
    const json j = json::parse(shape);
    const ChunkingConfig c = ParseOk(j);
    EXPECT_EQ(ChunkingConfigToJson(c), j) << shape;
    EXPECT_EQ(ChunkingConfigToJson(ParseOk(ChunkingConfigToJson(c))).dump(), j.dump());
  }
  EXPECT_EQ(ChunkingConfigToJson(ChunkingConfig{}).dump(), R"({"chunkingStrategy":"DEFAULT"})");
}

TEST(ChunkingConfigTest, ErrorsNameTheJsonPathAndTheBound) {
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "FIXED_SIZE",
      "fixedSizeChunkingConfiguration": {"maxTokens": 0, "overlapPercentage": 20}})")),
            "chunkingConfiguration.fixedSizeChunkingConfiguration.maxTokens: must be 1..8192");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "FIXED_SIZE",
      "fixedSizeChunkingConfiguration": {"maxTokens": 8193, "overlapPercentage": 20}})")),
            "chunkingConfiguration.fixedSizeChunkingConfiguration.maxTokens: must be 1..8192");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "FIXED_SIZE",
      "fixedSizeChunkingConfiguration": {"maxTokens": 18446744073709551615, "overlapPercentage": 20}})")),
            "chunkingConfiguration.fixedSizeChunkingConfiguration.maxTokens: must be 1..8192");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "FIXED_SIZE",
      "fixedSizeChunkingConfiguration": {"maxTokens": 300, "overlapPercentage": 100}})")),
            "chunkingConfiguration.fixedSizeChunkingConfiguration.overlapPercentage: must be 1..99");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "FIXED_SIZE",
      "fixedSizeChunkingConfiguration": {"maxTokens": 300}})")),
            "chunkingConfiguration.fixedSizeChunkingConfiguration.overlapPercentage: required");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "FIXED_SIZE",
      "fixedSizeChunkingConfiguration": {"maxTokens": "300", "overlapPercentage": 20}})")),
            "chunkingConfiguration.fixedSizeChunkingConfiguration.maxTokens: must be an integer");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "FIXED_SIZE",
      "fixedSizeChunkingConfiguration": {"maxTokens": 30.5, "overlapPercentage": 20}})")),
            "chunkingConfiguration.fixedSizeChunkingConfiguration.maxTokens: must be an integer");
  EXPECT_EQ(ParseError(json{{"chunkingStrategy", "FIXED_SIZE"}}),
            "chunkingConfiguration.fixedSizeChunkingConfiguration: required");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "HIERARCHICAL",
      "hierarchicalChunkingConfiguration": {"levelConfigurations": [{"maxTokens": 100}],
                                            "overlapTokens": 10}})")),
            "chunkingConfiguration.hierarchicalChunkingConfiguration.levelConfigurations: must be "
            "a list of 2 levels (parent, then child)");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "HIERARCHICAL",
      "hierarchicalChunkingConfiguration": {
        "levelConfigurations": [{"maxTokens": 100}, {"maxTokens": 9000}], "overlapTokens": 10}})")),
            "chunkingConfiguration.hierarchicalChunkingConfiguration.levelConfigurations[1]."
            "maxTokens: must be 1..8192");
  EXPECT_THAT(ParseError(json::parse(R"({"chunkingStrategy": "HIERARCHICAL",
      "hierarchicalChunkingConfiguration": {
        "levelConfigurations": [{"maxTokens": 100}, {"maxTokens": 200}], "overlapTokens": 10}})")),
              ::testing::HasSubstr("levelConfigurations[1].maxTokens: must not exceed"));
  EXPECT_THAT(ParseError(json::parse(R"({"chunkingStrategy": "HIERARCHICAL",
      "hierarchicalChunkingConfiguration": {
        "levelConfigurations": [{"maxTokens": 1000}, {"maxTokens": 200}], "overlapTokens": 200}})")),
              ::testing::HasSubstr("overlapTokens: must be less than"));
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "HIERARCHICAL",
      "hierarchicalChunkingConfiguration": {
        "levelConfigurations": [{"maxTokens": 1000}, {"maxTokens": 200}], "overlapTokens": 0}})")),
            "chunkingConfiguration.hierarchicalChunkingConfiguration.overlapTokens: must be 1..8192");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "SEMANTIC",
      "semanticChunkingConfiguration": {
        "maxTokens": 300, "bufferSize": 2, "breakpointPercentileThreshold": 95}})")),
            "chunkingConfiguration.semanticChunkingConfiguration.bufferSize: must be 0..1");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "SEMANTIC",
      "semanticChunkingConfiguration": {
        "maxTokens": 300, "bufferSize": 0, "breakpointPercentileThreshold": 49}})")),
            "chunkingConfiguration.semanticChunkingConfiguration.breakpointPercentileThreshold: "
            "must be 50..99");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "MARKDOWN",
      "markdownChunkingConfiguration": {"maxTokens": -3}})")),
            "chunkingConfiguration.markdownChunkingConfiguration.maxTokens: must be 1..8192");
}

TEST(ChunkingConfigTest, RejectsUnknownStrategiesMembersAndMisplacedConfigurations) {
  EXPECT_THAT(ParseError(json{{"chunkingStrategy", "fixed_size"}}),
              ::testing::StartsWith("chunkingConfiguration.chunkingStrategy: must be one of"));
  EXPECT_EQ(ParseError(json{{"chunkingStrategy", 3}}),
            "chunkingConfiguration.chunkingStrategy: must be a string");
  EXPECT_EQ(ParseError(json::object()), "chunkingConfiguration.chunkingStrategy: required");
  EXPECT_EQ(ParseError(json::array()), "chunkingConfiguration: must be an object");
  EXPECT_EQ(ParseError(json{{"chunkingStrategy", "NONE"}, {"maxTokens", 3}}),
            "chunkingConfiguration.maxTokens: unknown member");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "FIXED_SIZE",
      "fixedSizeChunkingConfiguration": {"maxTokens": 300, "overlapPercentage": 20, "x": 1}})")),
            "chunkingConfiguration.fixedSizeChunkingConfiguration.x: unknown member");
  EXPECT_EQ(ParseError(json::parse(R"({"chunkingStrategy": "NONE",
      "fixedSizeChunkingConfiguration": {"maxTokens": 300, "overlapPercentage": 20}})")),
            "chunkingConfiguration.fixedSizeChunkingConfiguration: not allowed when "
            "chunkingStrategy is NONE");
  EXPECT_EQ(ParseError(json{{"chunkingStrategy", "SEMANTIC"}, {"semanticChunkingConfiguration", 5}}),
            "chunkingConfiguration.semanticChunkingConfiguration: must be an object");
}

TEST(ChunkingConfigTest, ValidateChecksConfigsBuiltInCode) {
  ChunkingConfig c;
  c.strategy = ChunkingStrategy::kFixedSize;
  c.overlap_percentage = 0;
  EXPECT_EQ(ValidateChunkingConfig(c).message(),
            "chunkingConfiguration.fixedSizeChunkingConfiguration.overlapPercentage: must be 1..99");
  c.strategy = ChunkingStrategy::kNone;
  EXPECT_TRUE(ValidateChunkingConfig(c).ok());
  EXPECT_TRUE(ValidateChunkingConfig(ChunkingConfig{}).ok());
}

}  // namespace
}  // namespace basalt::rag
