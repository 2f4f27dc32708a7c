// Bedrock Knowledge Bases wire shapes <-> rag:: values, for bedrock_kb_api.cc.
// The shapes are those of the service models in ../shared/conformance/contracts/
// (bedrock-agent 2023-06-05, bedrock-agent-runtime 2023-07-26). Pure functions.
//
// Parsers return kInvalidArgument whose message starts with the field's JSON
// path ("documents[2].content.custom.inlineContent.textContent.data: ..."), so
// the AWS error body names it. What basalt does not have is refused, never
// ignored silently: S3 content and metadata, Kendra/SQL knowledge bases, image
// queries, implicit filters, custom parsing and transformations.
//
// Where basalt bends a field (documented in docs/RAG.md):
//   - a data source of type S3 whose s3Configuration.bucketArn is a file:// URL
//     is a LOCAL_DIRECTORY source (basalt has no S3; the directory must be
//     listed in rag.allowed_directories);
//   - the inline attribute "x-amz-bedrock-kb-source-uri" sets the document's
//     source URI (s3:// and http(s):// URIs become S3 and WEB locations);
//   - chunking is per knowledge base in basalt: CreateDataSource's
//     chunkingConfiguration is applied to its knowledge base.
//
// Offsets: the service's spans are UTF-8 byte offsets; Bedrock spans here are
// UTF-16 code-unit offsets (what JavaScript string indexes use), end
// exclusive, so output.text.slice(start, end) is the cited text.
// Timestamps are ISO 8601 with milliseconds, as the models declare.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "rag/kb/kb_types.h"

namespace basalt::api::bedrock_kb {

// What ARNs are made of. The account is a fixed 12-digit stand-in: tenants
// are not AWS accounts, and the ARN must never leak the tenant's name.
struct ArnContext {
  std::string region = "local";
  std::string account = "000000000000";
};

// "2024-05-01T12:00:00.000Z".
std::string IsoTime(int64_t unix_ms);
// The model id inside a Bedrock model ARN ("arn:aws:bedrock:r::foundation-model/X"
// or ".../inference-profile/X" → "X"); anything not an ARN is returned as is.
std::string ModelIdFromArn(std::string_view arn);
// UTF-16 code units in utf8[0, byte_offset) (offsets past the end are clamped).
size_t Utf16Offset(std::string_view utf8, size_t byte_offset);
// `status` with its message's leading field path `from` renamed to `to`
// ("config.embeddingModel: x" → "knowledgeBaseConfiguration...: x").
absl::Status RenameField(const absl::Status& status, std::string_view from, std::string_view to);

// ---------------------------------------------------------------- bedrock-agent

// CreateKnowledgeBase: name, description, roleArn, VECTOR configuration
// (embeddingModelArn → config.embedding_model), storageConfiguration (kept in
// `extra` and echoed).
absl::StatusOr<rag::KnowledgeBase> ParseCreateKnowledgeBase(const nlohmann::json& body);
// UpdateKnowledgeBase as the service's patch: {name, description, roleArn,
// config: {embeddingModel}}.
absl::StatusOr<nlohmann::json> ParseUpdateKnowledgeBase(const nlohmann::json& body);
nlohmann::json RenderKnowledgeBase(const rag::KnowledgeBase& kb, const ArnContext& arn);
nlohmann::json RenderKnowledgeBaseSummary(const rag::KnowledgeBase& kb);

struct DataSourceDraft {
  rag::DataSource source;  // `extra` holds the Bedrock fields to echo
  std::optional<nlohmann::json> chunking;  // normalised ChunkingConfiguration, when given
};
absl::StatusOr<DataSourceDraft> ParseCreateDataSource(const nlohmann::json& body, std::string kb);
nlohmann::json RenderDataSource(const rag::DataSource& source);
nlohmann::json RenderDataSourceSummary(const rag::DataSource& source);

// IngestKnowledgeBaseDocuments' documents, for `data_source`.
absl::StatusOr<std::vector<rag::DocumentInput>> ParseIngestDocuments(const nlohmann::json& body,
                                                                     const std::string& data_source);
// Get/DeleteKnowledgeBaseDocuments' documentIdentifiers (CUSTOM ids).
absl::StatusOr<std::vector<std::string>> ParseDocumentIdentifiers(const nlohmann::json& body);
nlohmann::json RenderDocumentDetail(const rag::DocumentState& doc);

nlohmann::json RenderIngestionJob(const rag::IngestionJob& job);
nlohmann::json RenderIngestionJobSummary(const rag::IngestionJob& job);

// maxResults (1..1000, default `default_max`) and nextToken of a List call.
struct PageRequest {
  int max_results = 1000;
  std::string next_token;
};
absl::StatusOr<PageRequest> ParsePageRequest(const nlohmann::json& body, int default_max = 1000);

// ListIngestionJobs: filters (STATUS EQ values) and sortBy, applied in order.
absl::StatusOr<std::vector<rag::IngestionJob>> FilterAndSortJobs(const nlohmann::json& body,
                                                                std::vector<rag::IngestionJob> jobs);

// --------------------------------------------------------- bedrock-agent-runtime

struct RetrieveCall {
  rag::RetrieveRequest request;
  std::optional<int> reranked_results;  // numberOfRerankedResults: keep this many
};
// A KnowledgeBaseRetrievalConfiguration at `path` (may be absent) onto `call`.
absl::Status ParseRetrievalConfiguration(const nlohmann::json* config, std::string_view path,
                                         RetrieveCall& call);
// Retrieve: retrievalQuery.text, retrievalConfiguration.
absl::StatusOr<RetrieveCall> ParseRetrieve(const nlohmann::json& body, std::string kb);

struct AnswerCall {
  rag::AnswerRequest request;
  std::optional<int> reranked_results;
};
// RetrieveAndGenerate(Stream): input.text, sessionId, KNOWLEDGE_BASE configuration.
absl::StatusOr<AnswerCall> ParseRetrieveAndGenerate(const nlohmann::json& body);

// KnowledgeBaseRetrievalResult (with score) or RetrievedReference (without).
nlohmann::json RenderRetrievalResult(const rag::RetrievedChunk& chunk, bool with_score);
// One Citation of `answer`: the answer span and the references it cites.
nlohmann::json RenderCitation(const rag::AnswerResult& answer, const rag::AnswerCitation& c);
// RetrieveAndGenerateResponse plus basalt's top-level `basaltConfidence`.
nlohmann::json RenderRetrieveAndGenerate(const rag::AnswerResult& answer);

}  // namespace basalt::api::bedrock_kb
