// The knowledge base's records as stored JSON (the Store's bodies), and the
// validation of a configuration: errors name the field.
#pragma once

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
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

// Whether a change from `before` to `after` needs the documents re-indexed.
bool NeedsReindex(const KbConfig& before, const KbConfig& after);

}  // namespace basalt::rag
