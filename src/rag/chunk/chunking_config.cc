#include "rag/chunk/chunking.h"

#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/strings.h"

namespace basalt::rag {
namespace {

constexpr std::string_view kRoot = "chunkingConfiguration";
constexpr std::string_view kFixed = "fixedSizeChunkingConfiguration";
constexpr std::string_view kHierarchical = "hierarchicalChunkingConfiguration";
constexpr std::string_view kSemantic = "semanticChunkingConfiguration";
constexpr std::string_view kMarkdown = "markdownChunkingConfiguration";

absl::Status Invalid(std::string_view path, std::string_view message) {
  return absl::InvalidArgumentError(StrCat(path, ": ", message));
}

std::string Path(std::string_view a, std::string_view b) { return StrCat(a, ".", b); }

// Rejects members of `object` not in `allowed` (the SDKs never send them; a
// typo must not silently fall back to a default).
absl::Status OnlyMembers(const nlohmann::json& object, std::string_view path,
                         std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (std::string_view name : allowed) known = known || key == name;
    if (!known) return Invalid(Path(path, key), "unknown member");
  }
  return absl::OkStatus();
}

absl::StatusOr<const nlohmann::json*> RequiredObject(const nlohmann::json& parent,
                                                     std::string_view path,
                                                     std::string_view key) {
  const auto it = parent.find(std::string(key));
  if (it == parent.end() || it->is_null()) return Invalid(Path(path, key), "required");
  if (!it->is_object()) return Invalid(Path(path, key), "must be an object");
  return &*it;
}

// Reads parent[key] as an integer in [lo, hi]; `fallback` when absent and not required.
absl::StatusOr<int> ReadInt(const nlohmann::json& parent, std::string_view path,
                            std::string_view key, int lo, int hi, bool required,
                            int fallback = 0) {
  const std::string full = Path(path, key);
  const auto it = parent.find(std::string(key));
  if (it == parent.end() || it->is_null()) {
    if (required) return Invalid(full, "required");
    return fallback;
  }
  if (!it->is_number_integer()) return Invalid(full, "must be an integer");
  const bool in_range = it->is_number_unsigned() ? it->get<uint64_t>() <= static_cast<uint64_t>(hi)
                                                 : it->get<int64_t>() <= hi;
  if (!in_range || it->get<int64_t>() < lo) return Invalid(full, StrCat("must be ", lo, "..", hi));
  return static_cast<int>(it->get<int64_t>());
}

absl::Status CheckRange(std::string_view path, int value, int lo, int hi) {
  if (value < lo || value > hi) return Invalid(path, StrCat("must be ", lo, "..", hi));
  return absl::OkStatus();
}

std::string StrategySub(std::string_view sub, std::string_view key) {
  return StrCat(kRoot, ".", sub, ".", key);
}

absl::StatusOr<ChunkingStrategy> ParseStrategy(const nlohmann::json& j) {
  const std::string path = Path(kRoot, "chunkingStrategy");
  const auto it = j.find("chunkingStrategy");
  if (it == j.end() || it->is_null()) return Invalid(path, "required");
  if (!it->is_string()) return Invalid(path, "must be a string");
  const std::string& name = it->get_ref<const std::string&>();
  for (ChunkingStrategy s :
       {ChunkingStrategy::kDefault, ChunkingStrategy::kFixedSize, ChunkingStrategy::kHierarchical,
        ChunkingStrategy::kSemantic, ChunkingStrategy::kNone, ChunkingStrategy::kMarkdown}) {
    if (name == ChunkingStrategyName(s)) return s;
  }
  return Invalid(path, "must be one of FIXED_SIZE, HIERARCHICAL, SEMANTIC, NONE, DEFAULT, MARKDOWN");
}

std::string_view SubObjectOf(ChunkingStrategy strategy) {
  switch (strategy) {
    case ChunkingStrategy::kFixedSize: return kFixed;
    case ChunkingStrategy::kHierarchical: return kHierarchical;
    case ChunkingStrategy::kSemantic: return kSemantic;
    case ChunkingStrategy::kMarkdown: return kMarkdown;
    case ChunkingStrategy::kDefault:
    case ChunkingStrategy::kNone: break;
  }
  return {};
}

absl::Status ParseHierarchical(const nlohmann::json& h, ChunkingConfig* config) {
  const std::string path = Path(kRoot, kHierarchical);
  if (auto s = OnlyMembers(h, path, {"levelConfigurations", "overlapTokens"}); !s.ok()) return s;
  const std::string levels_path = Path(path, "levelConfigurations");
  const auto levels = h.find("levelConfigurations");
  if (levels == h.end() || levels->is_null()) return Invalid(levels_path, "required");
  if (!levels->is_array() || levels->size() != 2) {
    return Invalid(levels_path, "must be a list of 2 levels (parent, then child)");
  }
  int* targets[2] = {&config->parent_max_tokens, &config->child_max_tokens};
  for (size_t i = 0; i < 2; ++i) {
    const std::string level_path = StrCat(levels_path, "[", i, "]");
    const nlohmann::json& level = (*levels)[i];
    if (!level.is_object()) return Invalid(level_path, "must be an object");
    if (auto s = OnlyMembers(level, level_path, {"maxTokens"}); !s.ok()) return s;
    auto max = ReadInt(level, level_path, "maxTokens", 1, kMaxChunkTokens, true);
    if (!max.ok()) return max.status();
    *targets[i] = *max;
  }
  auto overlap = ReadInt(h, path, "overlapTokens", 1, kMaxChunkTokens, true);
  if (!overlap.ok()) return overlap.status();
  config->overlap_tokens = *overlap;
  return absl::OkStatus();
}

}  // namespace

std::string_view ChunkingStrategyName(ChunkingStrategy strategy) {
  switch (strategy) {
    case ChunkingStrategy::kDefault: return "DEFAULT";
    case ChunkingStrategy::kFixedSize: return "FIXED_SIZE";
    case ChunkingStrategy::kHierarchical: return "HIERARCHICAL";
    case ChunkingStrategy::kSemantic: return "SEMANTIC";
    case ChunkingStrategy::kNone: return "NONE";
    case ChunkingStrategy::kMarkdown: return "MARKDOWN";
  }
  return "DEFAULT";
}

absl::Status ValidateChunkingConfig(const ChunkingConfig& c) {
  const int cap = kMaxChunkTokens;
  switch (c.strategy) {
    case ChunkingStrategy::kDefault:
      return CheckRange(StrCat(kRoot, " (DEFAULT) maxTokens"), c.max_tokens, 1, cap);
    case ChunkingStrategy::kNone: return absl::OkStatus();
    case ChunkingStrategy::kFixedSize: {
      auto s = CheckRange(StrategySub(kFixed, "maxTokens"), c.max_tokens, 1, cap);
      if (!s.ok()) return s;
      return CheckRange(StrategySub(kFixed, "overlapPercentage"), c.overlap_percentage, 1, 99);
    }
    case ChunkingStrategy::kHierarchical: {
      const std::string levels = StrategySub(kHierarchical, "levelConfigurations");
      auto s = CheckRange(StrCat(levels, "[0].maxTokens"), c.parent_max_tokens, 1, cap);
      if (s.ok()) s = CheckRange(StrCat(levels, "[1].maxTokens"), c.child_max_tokens, 1, cap);
      if (s.ok()) s = CheckRange(StrategySub(kHierarchical, "overlapTokens"), c.overlap_tokens, 1, cap);
      if (!s.ok()) return s;
      if (c.child_max_tokens > c.parent_max_tokens) {
        return Invalid(StrCat(levels, "[1].maxTokens"),
                       "must not exceed the parent level's maxTokens (levelConfigurations[0])");
      }
      if (c.overlap_tokens >= c.child_max_tokens) {
        return Invalid(StrategySub(kHierarchical, "overlapTokens"),
                       "must be less than the child level's maxTokens (levelConfigurations[1])");
      }
      return absl::OkStatus();
    }
    case ChunkingStrategy::kSemantic: {
      auto s = CheckRange(StrategySub(kSemantic, "maxTokens"), c.max_tokens, 1, cap);
      if (s.ok()) s = CheckRange(StrategySub(kSemantic, "bufferSize"), c.buffer_size, 0, 1);
      if (s.ok()) {
        s = CheckRange(StrategySub(kSemantic, "breakpointPercentileThreshold"),
                       c.breakpoint_percentile, 50, 99);
      }
      return s;
    }
    case ChunkingStrategy::kMarkdown:
      return CheckRange(StrategySub(kMarkdown, "maxTokens"), c.max_tokens, 1, cap);
  }
  return absl::OkStatus();
}

absl::StatusOr<ChunkingConfig> ParseChunkingConfig(const nlohmann::json& j) {
  ChunkingConfig config;
  if (j.is_null()) return config;
  if (!j.is_object()) return Invalid(kRoot, "must be an object");
  if (auto s = OnlyMembers(j, kRoot, {"chunkingStrategy", kFixed, kHierarchical, kSemantic,
                                      kMarkdown});
      !s.ok()) {
    return s;
  }
  auto strategy = ParseStrategy(j);
  if (!strategy.ok()) return strategy.status();
  config.strategy = *strategy;
  const std::string_view wanted = SubObjectOf(config.strategy);
  for (std::string_view sub : {kFixed, kHierarchical, kSemantic, kMarkdown}) {
    const auto it = j.find(std::string(sub));
    if (sub != wanted && it != j.end() && !it->is_null()) {
      return Invalid(Path(kRoot, sub), StrCat("not allowed when chunkingStrategy is ",
                                              ChunkingStrategyName(config.strategy)));
    }
  }

  switch (config.strategy) {
    case ChunkingStrategy::kDefault:
    case ChunkingStrategy::kNone: break;
    case ChunkingStrategy::kFixedSize: {
      auto f = RequiredObject(j, kRoot, kFixed);
      if (!f.ok()) return f.status();
      const std::string path = Path(kRoot, kFixed);
      if (auto s = OnlyMembers(**f, path, {"maxTokens", "overlapPercentage"}); !s.ok()) return s;
      auto max = ReadInt(**f, path, "maxTokens", 1, kMaxChunkTokens, true);
      if (!max.ok()) return max.status();
      auto overlap = ReadInt(**f, path, "overlapPercentage", 1, 99, true);
      if (!overlap.ok()) return overlap.status();
      config.max_tokens = *max;
      config.overlap_percentage = *overlap;
      break;
    }
    case ChunkingStrategy::kHierarchical: {
      auto h = RequiredObject(j, kRoot, kHierarchical);
      if (!h.ok()) return h.status();
      if (auto s = ParseHierarchical(**h, &config); !s.ok()) return s;
      break;
    }
    case ChunkingStrategy::kSemantic: {
      auto m = RequiredObject(j, kRoot, kSemantic);
      if (!m.ok()) return m.status();
      const std::string path = Path(kRoot, kSemantic);
      if (auto s = OnlyMembers(**m, path, {"maxTokens", "bufferSize",
                                           "breakpointPercentileThreshold"});
          !s.ok()) {
        return s;
      }
      auto max = ReadInt(**m, path, "maxTokens", 1, kMaxChunkTokens, true);
      if (!max.ok()) return max.status();
      auto buffer = ReadInt(**m, path, "bufferSize", 0, 1, true);
      if (!buffer.ok()) return buffer.status();
      auto percentile = ReadInt(**m, path, "breakpointPercentileThreshold", 50, 99, true);
      if (!percentile.ok()) return percentile.status();
      config.max_tokens = *max;
      config.buffer_size = *buffer;
      config.breakpoint_percentile = *percentile;
      break;
    }
    case ChunkingStrategy::kMarkdown: {
      const auto it = j.find(std::string(kMarkdown));
      if (it == j.end() || it->is_null()) break;
      const std::string path = Path(kRoot, kMarkdown);
      if (!it->is_object()) return Invalid(path, "must be an object");
      if (auto s = OnlyMembers(*it, path, {"maxTokens"}); !s.ok()) return s;
      auto max = ReadInt(*it, path, "maxTokens", 1, kMaxChunkTokens, false, config.max_tokens);
      if (!max.ok()) return max.status();
      config.max_tokens = *max;
      break;
    }
  }
  if (auto s = ValidateChunkingConfig(config); !s.ok()) return s;
  return config;
}

nlohmann::json ChunkingConfigToJson(const ChunkingConfig& c) {
  nlohmann::json j = {{"chunkingStrategy", std::string(ChunkingStrategyName(c.strategy))}};
  switch (c.strategy) {
    case ChunkingStrategy::kDefault:
    case ChunkingStrategy::kNone: break;
    case ChunkingStrategy::kFixedSize:
      j[std::string(kFixed)] = {{"maxTokens", c.max_tokens},
                                {"overlapPercentage", c.overlap_percentage}};
      break;
    case ChunkingStrategy::kHierarchical:
      j[std::string(kHierarchical)] = {
          {"levelConfigurations",
           nlohmann::json::array({{{"maxTokens", c.parent_max_tokens}},
                                  {{"maxTokens", c.child_max_tokens}}})},
          {"overlapTokens", c.overlap_tokens}};
      break;
    case ChunkingStrategy::kSemantic:
      j[std::string(kSemantic)] = {{"maxTokens", c.max_tokens},
                                   {"bufferSize", c.buffer_size},
                                   {"breakpointPercentileThreshold", c.breakpoint_percentile}};
      break;
    case ChunkingStrategy::kMarkdown:
      j[std::string(kMarkdown)] = {{"maxTokens", c.max_tokens}};
      break;
  }
  return j;
}

}  // namespace basalt::rag
