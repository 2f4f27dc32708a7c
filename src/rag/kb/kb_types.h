// The knowledge-base service's values: knowledge bases, data sources,
// documents, retrieval and answers. The API layers (native and Bedrock) map
// their wire shapes onto these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rag/types.h"

namespace basalt::rag {

// A knowledge base's configuration. `chunking` and `hybrid` hold the JSON the
// chunk/ and filter/ parts parse (Bedrock's chunkingConfiguration; basalt's
// {mode, vectorWeight, rrfK}); they are validated when set.
// The builtin provider's embedding model (models/builtin/embedder.h).
inline constexpr std::string_view kBuiltinEmbeddingModel = "builtin-embed";

struct KbConfig {
  std::string embedding_model = std::string(kBuiltinEmbeddingModel);  // a model id the router serves
  int dimensions = 0;                             // fixed at creation from the embedder
  nlohmann::json chunking;  // null: DEFAULT
  int hnsw_m = 16;
  int ef_construction = 100;
  int ef_search = 128;  // SciFact SEMANTIC nDCG@10: 0.290 at 64, 0.320 at 128, 0.328 at 256
  nlohmann::json hybrid = nlohmann::json::object();
  double abstain_threshold = 0.35;
  std::string generation_model;  // answers' default model ("": the tenant's default)
};

struct KnowledgeBase {
  std::string id;
  std::string name;
  std::string description;
  std::string status = "ACTIVE";  // ACTIVE, UPDATING (re-indexing), DELETING, FAILED
  std::string failure;            // why, when FAILED
  KbConfig config;
  int64_t generation = 1;          // the index that answers queries
  int64_t pending_generation = 0;  // the index being built by a re-index; 0 when none
  std::string role_arn;            // echoed for Bedrock clients
  nlohmann::json extra = nlohmann::json::object();  // Bedrock fields stored as given
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// A data source: where a knowledge base's documents come from. CUSTOM takes
// documents through the API; LOCAL_DIRECTORY reads a server-side directory
// that configuration allows (rag.allowed_directories).
struct DataSource {
  std::string kb;
  std::string id;
  std::string name;
  std::string description;
  std::string type = "CUSTOM";  // CUSTOM | LOCAL_DIRECTORY
  std::string directory;        // LOCAL_DIRECTORY only
  std::string status = "AVAILABLE";
  nlohmann::json extra = nlohmann::json::object();
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct DocumentInput {
  std::string data_source;  // empty: the knowledge base's default CUSTOM source
  std::string id;           // caller-stable
  std::string content;      // bytes (text is bytes too)
  std::string mime_type;    // declared; checked against the content
  Attributes attributes;
  std::string source_uri;   // where the caller says it came from (optional)
};

// Bedrock's document statuses.
inline constexpr std::string_view kPending = "PENDING";
inline constexpr std::string_view kInProgress = "IN_PROGRESS";
inline constexpr std::string_view kIndexed = "INDEXED";
inline constexpr std::string_view kFailed = "FAILED";
inline constexpr std::string_view kDeleting = "DELETING";
inline constexpr std::string_view kNotFound = "NOT_FOUND";

struct DocumentState {
  std::string kb;
  std::string data_source;
  std::string id;
  std::string status;
  std::string reason;
  std::string content_hash;
  int64_t version = 0;   // +1 per indexed content
  std::string mime;
  std::string source_uri;
  std::string extractor;
  int pages = 0;
  int ocr_pages = 0;
  int chunks = 0;
  int64_t updated_ms = 0;
};

// An ingestion job (Bedrock StartIngestionJob): a scan of a data source.
struct IngestionJob {
  std::string kb;
  std::string data_source;
  std::string id;
  std::string status = "STARTING";  // STARTING, IN_PROGRESS, COMPLETE, FAILED, STOPPED
  std::vector<std::string> failures;
  int64_t scanned = 0, new_indexed = 0, modified_indexed = 0, deleted = 0, failed = 0,
          unchanged = 0;
  int64_t started_ms = 0;
  int64_t updated_ms = 0;
};

enum class SearchType { kHybrid, kSemantic, kKeyword };

struct RetrieveRequest {
  std::string kb;
  std::string query;
  int k = 5;
  std::optional<nlohmann::json> filter;     // Bedrock RetrievalFilter
  std::optional<SearchType> search_type;    // default: hybrid
  std::optional<nlohmann::json> hybrid;     // overrides the knowledge base's fusion
  bool rerank = false;                      // builtin term-overlap cross-check
};

struct RetrievedChunk {
  Label label = 0;
  std::string text;            // the chunk, or its parent's text for HIERARCHICAL
  std::string document_id;
  std::string data_source;
  std::string source_uri;
  size_t begin = 0, end = 0;   // byte span in the document's extracted text
  PageRange pages;
  double score = 0;            // fused
  double vector_score = 0;
  double text_score = 0;
  int64_t doc_version = 0;
  Attributes attributes;
};

struct RetrieveResult {
  std::vector<RetrievedChunk> chunks;
  int64_t generation = 0;
  size_t passing = 0;  // chunks the filter let through
};

struct AnswerRequest {
  RetrieveRequest retrieve;
  std::string model;                  // "" → the knowledge base's, else the tenant's default
  std::string session_id;             // "" → a new session
  std::optional<std::string> prompt_template;
  int max_tokens = 1024;
  std::optional<double> temperature;
  std::optional<double> abstain_threshold;
};

struct CitedReference {
  int source = 0;            // index into AnswerResult::sources
  size_t begin = 0, end = 0; // the supporting span inside that source's text (bytes)
};

struct AnswerCitation {
  size_t begin = 0, end = 0;  // the span of the answer text it supports (bytes)
  std::vector<CitedReference> references;
};

struct AnswerResult {
  std::string session_id;
  std::string text;
  std::vector<AnswerCitation> citations;
  std::vector<RetrievedChunk> sources;
  double confidence = 0;
  double grounding = 0;
  bool abstained = false;
  std::string model;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
};

}  // namespace basalt::rag
