#include "rag/kb/kb_json.h"

#include <set>

#include "core/strings.h"
#include "rag/chunk/chunking.h"
#include "rag/filter/fusion.h"

namespace basalt::rag {

nlohmann::json KbConfigToJson(const KbConfig& c) {
  return {{"embeddingModel", c.embedding_model},
          {"dimensions", c.dimensions},
          {"chunking", c.chunking},
          {"index", {{"m", c.hnsw_m}, {"efConstruction", c.ef_construction}, {"efSearch", c.ef_search}}},
          {"hybrid", c.hybrid},
          {"abstainThreshold", c.abstain_threshold},
          {"generationModel", c.generation_model}};
}

namespace {

absl::Status IntIn(const nlohmann::json& j, const char* key, int lo, int hi, std::string_view field,
                   int& out) {
  if (!j.contains(key)) return absl::OkStatus();
  const nlohmann::json& v = j.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return absl::InvalidArgumentError(
        StrCat(field, ".", key, ": must be an integer in ", lo, "..", hi));
  }
  out = v.get<int>();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<KbConfig> KbConfigFromJson(const nlohmann::json& j, KbConfig c,
                                          std::string_view field) {
  if (j.is_null()) return c;
  if (!j.is_object()) return absl::InvalidArgumentError(StrCat(field, ": must be an object"));
  static const std::set<std::string> kKnown = {"embeddingModel", "dimensions", "chunking", "index",
                                               "hybrid", "abstainThreshold", "generationModel"};
  for (const auto& [key, value] : j.items()) {
    if (!kKnown.contains(key)) {
      return absl::InvalidArgumentError(StrCat(field, ".", key, ": unknown field"));
    }
  }
  if (j.contains("embeddingModel")) {
    const nlohmann::json& v = j.at("embeddingModel");
    if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 256) {
      return absl::InvalidArgumentError(
          StrCat(field, ".embeddingModel: must be a model id of 1..256 characters"));
    }
    c.embedding_model = v.get<std::string>();
  }
  if (absl::Status s = IntIn(j, "dimensions", 0, 8192, field, c.dimensions); !s.ok()) return s;
  if (j.contains("chunking")) {
    const nlohmann::json& given = j.at("chunking");
    absl::StatusOr<ChunkingConfig> chunking =
        ParseChunkingConfig(given.is_object() && given.empty() ? nlohmann::json() : given);
    if (!chunking.ok()) {
      return absl::InvalidArgumentError(
          StrCat(field, ".chunking: ", ToStd(chunking.status().message())));
    }
    c.chunking = ChunkingConfigToJson(*chunking);
  }
  if (j.contains("index")) {
    const nlohmann::json& idx = j.at("index");
    if (!idx.is_object()) return absl::InvalidArgumentError(StrCat(field, ".index: must be an object"));
    std::string f = StrCat(field, ".index");
    if (absl::Status s = IntIn(idx, "m", 4, 64, f, c.hnsw_m); !s.ok()) return s;
    if (absl::Status s = IntIn(idx, "efConstruction", 10, 1000, f, c.ef_construction); !s.ok()) {
      return s;
    }
    if (absl::Status s = IntIn(idx, "efSearch", 10, 1000, f, c.ef_search); !s.ok()) return s;
  }
  if (j.contains("hybrid")) {
    absl::StatusOr<FusionOptions> fusion = ParseFusionOptions(j.at("hybrid"));
    if (!fusion.ok()) {
      return absl::InvalidArgumentError(StrCat(field, ".", ToStd(fusion.status().message())));
    }
    c.hybrid = j.at("hybrid");
  }
  if (j.contains("abstainThreshold")) {
    const nlohmann::json& v = j.at("abstainThreshold");
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
      return absl::InvalidArgumentError(StrCat(field, ".abstainThreshold: must be a number in 0..1"));
    }
    c.abstain_threshold = v.get<double>();
  }
  if (j.contains("generationModel")) {
    if (!j.at("generationModel").is_string()) {
      return absl::InvalidArgumentError(StrCat(field, ".generationModel: must be a string"));
    }
    c.generation_model = j.at("generationModel").get<std::string>();
  }
  return c;
}

absl::StatusOr<FusionOptions> EffectiveFusion(const KbConfig& config) {
  FusionOptions defaults;
  if (config.embedding_model == kBuiltinEmbeddingModel) {
    defaults.mode = FusionOptions::Mode::kWeighted;
    defaults.vector_weight = 0.1;
  }
  return ParseFusionOptions(config.hybrid, defaults);
}

nlohmann::json KnowledgeBaseToJson(const KnowledgeBase& kb) {
  return {{"id", kb.id},
          {"name", kb.name},
          {"description", kb.description},
          {"status", kb.status},
          {"failure", kb.failure},
          {"config", KbConfigToJson(kb.config)},
          {"generation", kb.generation},
          {"pendingGeneration", kb.pending_generation},
          {"roleArn", kb.role_arn},
          {"extra", kb.extra},
          {"createdMs", kb.created_ms},
          {"updatedMs", kb.updated_ms}};
}

absl::StatusOr<KnowledgeBase> KnowledgeBaseFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return absl::DataLossError("stored knowledge base is not an object");
  KnowledgeBase kb;
  kb.id = j.value("id", "");
  kb.name = j.value("name", "");
  kb.description = j.value("description", "");
  kb.status = j.value("status", "ACTIVE");
  kb.failure = j.value("failure", "");
  absl::StatusOr<KbConfig> config =
      KbConfigFromJson(j.value("config", nlohmann::json::object()), KbConfig{}, "config");
  if (!config.ok()) return config.status();
  kb.config = *std::move(config);
  kb.generation = j.value("generation", int64_t{1});
  kb.pending_generation = j.value("pendingGeneration", int64_t{0});
  kb.role_arn = j.value("roleArn", "");
  kb.extra = j.value("extra", nlohmann::json::object());
  kb.created_ms = j.value("createdMs", int64_t{0});
  kb.updated_ms = j.value("updatedMs", int64_t{0});
  return kb;
}

nlohmann::json DataSourceToJson(const DataSource& s) {
  return {{"kb", s.kb},          {"id", s.id},         {"name", s.name},
          {"description", s.description}, {"type", s.type}, {"directory", s.directory},
          {"status", s.status},  {"extra", s.extra},   {"createdMs", s.created_ms},
          {"updatedMs", s.updated_ms}};
}

absl::StatusOr<DataSource> DataSourceFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return absl::DataLossError("stored data source is not an object");
  DataSource s;
  s.kb = j.value("kb", "");
  s.id = j.value("id", "");
  s.name = j.value("name", "");
  s.description = j.value("description", "");
  s.type = j.value("type", "CUSTOM");
  s.directory = j.value("directory", "");
  s.status = j.value("status", "AVAILABLE");
  s.extra = j.value("extra", nlohmann::json::object());
  s.created_ms = j.value("createdMs", int64_t{0});
  s.updated_ms = j.value("updatedMs", int64_t{0});
  return s;
}

bool NeedsReindex(const KbConfig& before, const KbConfig& after) {
  return before.embedding_model != after.embedding_model || before.chunking != after.chunking ||
         before.hnsw_m != after.hnsw_m || before.ef_construction != after.ef_construction;
}

}  // namespace basalt::rag
