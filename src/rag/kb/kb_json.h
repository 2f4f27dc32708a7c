// The knowledge base's records as stored JSON (the Store's bodies), and the
// validation of a configuration: errors name the field.
#pragma once

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "rag/filter/fusion.h"
#include "rag/kb/kb_types.h"

namespace basalt::rag {

nlohmann::json KbConfigToJson(const KbConfig& config);
// Applies the fields present in `json` over `base`; kInvalidArgument naming
// `field`.<name> for a bad value (chunking and hybrid are parsed by their parts).
absl::StatusOr<KbConfig> KbConfigFromJson(const nlohmann::json& json, KbConfig base,
                                          std::string_view field);

nlohmann::json KnowledgeBaseToJson(const KnowledgeBase& kb);
absl::StatusOr<KnowledgeBase> KnowledgeBaseFromJson(const nlohmann::json& json);
nlohmann::json DataSourceToJson(const DataSource& source);
absl::StatusOr<DataSource> DataSourceFromJson(const nlohmann::json& json);

// The fusion a knowledge base's hybrid search uses: its `hybrid` setting over
// a default that depends on the embedder. With the builtin embedder, whose
// vectors are hashed words and character n-grams (a noisier copy of what BM25
// sees), weighted fusion with vectorWeight 0.1: on SciFact, RRF at equal
// weights loses 0.15 nDCG@10 to BM25 alone while weighted 0.1 keeps it
// (bench/rag/scifact). With any other embedder, RRF at equal weights.
absl::StatusOr<FusionOptions> EffectiveFusion(const KbConfig& config);

// Whether a change from `before` to `after` needs the documents re-indexed.
bool NeedsReindex(const KbConfig& before, const KbConfig& after);

}  // namespace basalt::rag
