// A knowledge base's chunking configuration, in Bedrock's JSON shape
// (bedrock-agent ChunkingConfiguration) plus two basalt strategies.
//
//   {"chunkingStrategy": "FIXED_SIZE",
//    "fixedSizeChunkingConfiguration": {"maxTokens": 300, "overlapPercentage": 20}}
//   {"chunkingStrategy": "HIERARCHICAL",
//    "hierarchicalChunkingConfiguration": {
//        "levelConfigurations": [{"maxTokens": 1500}, {"maxTokens": 300}],  // parent, child
//        "overlapTokens": 60}}
//   {"chunkingStrategy": "SEMANTIC",
//    "semanticChunkingConfiguration": {
//        "maxTokens": 300, "bufferSize": 0, "breakpointPercentileThreshold": 95}}
//   {"chunkingStrategy": "NONE"}
//   {"chunkingStrategy": "DEFAULT"}                      basalt; also an absent or null config
//   {"chunkingStrategy": "MARKDOWN",                     basalt
//    "markdownChunkingConfiguration": {"maxTokens": 300}}  (optional)
//
// Tokens are counted by models/builtin/tokenizer.h (CountTokens).
// Bounds (the service model's, with 8192 as basalt's cap wherever it has none):
//   maxTokens 1..8192; overlapPercentage 1..99; overlapTokens 1..8192 and below
//   the child level's maxTokens; the child level's maxTokens at most the
//   parent's; bufferSize 0..1; breakpointPercentileThreshold 50..99.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace basalt::rag {

enum class ChunkingStrategy { kDefault, kFixedSize, kHierarchical, kSemantic, kNone, kMarkdown };

struct ChunkingConfig {
  ChunkingStrategy strategy = ChunkingStrategy::kDefault;
  int max_tokens = 300;         // FIXED_SIZE, DEFAULT, SEMANTIC, MARKDOWN
  int overlap_percentage = 20;  // FIXED_SIZE
  int parent_max_tokens = 1500;  // HIERARCHICAL
  int child_max_tokens = 300;    // HIERARCHICAL
  int overlap_tokens = 60;       // HIERARCHICAL, between children of one parent
  int buffer_size = 0;             // SEMANTIC: neighbour sentences embedded with each sentence
  int breakpoint_percentile = 95;  // SEMANTIC
};

inline constexpr int kMaxChunkTokens = 8192;

// "FIXED_SIZE", "HIERARCHICAL", "SEMANTIC", "NONE", "DEFAULT", "MARKDOWN".
std::string_view ChunkingStrategyName(ChunkingStrategy strategy);

// Parses a ChunkingConfiguration object (null or absent: DEFAULT). Unknown
// members, a missing required member, a strategy's configuration given for
// another strategy and out-of-bounds values are kInvalidArgument naming the
// JSON path ("chunkingConfiguration.fixedSizeChunkingConfiguration.maxTokens:
// must be 1..8192").
absl::StatusOr<ChunkingConfig> ParseChunkingConfig(const nlohmann::json& j);

// The configuration in the same shape; ParseChunkingConfig(ChunkingConfigToJson(c))
// gives back `c`'s fields that its strategy uses (DEFAULT has no parameters in
// JSON: its max_tokens is always 300). Stable key order, so dump() of it can
// serve as a fingerprint of the configuration.
nlohmann::json ChunkingConfigToJson(const ChunkingConfig& config);

// Checks the bounds above for the fields `config.strategy` uses, with the
// same messages as ParseChunkingConfig.
absl::Status ValidateChunkingConfig(const ChunkingConfig& config);

}  // namespace basalt::rag
