// RagDb: the knowledge bases' document database, one SQLite file
// (<data_dir>/rag.db). It holds what must survive a crash: each document's
// state and staged content, its extracted text, and every chunk of every
// index generation with its vector. The indexes (hnswlib, FTS5) are rebuilt
// or reconciled from it at start (kb/generation.h), so it is the truth.
//
// Content is sealed with the tenant's data key when a FieldCipher is given:
// staged bytes, extracted text, metadata attributes and chunk text (the AAD
// binds tenant, table, row and field). Vectors, spans and ids are not sealed.
//
// Thread-safety: every method may be called from any thread; writes take turns
// on one connection, reads use a pool. Every call BLOCKS: BlockingPool only.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rag/kb/kb_types.h"
#include "rag/types.h"
#include "tenancy/field_cipher.h"

namespace basalt::rag {

// A document's row, content opened.
struct DocumentRow {
  DocumentState state;
  Attributes attributes;
  std::string extracted_json;  // the Extracted the live chunks came from ("" before the first)
  bool has_pending = false;    // staged content waiting for the worker
};

struct StagedContent {
  std::string content;
  std::string mime;
  std::string content_hash;
  std::string source_uri;
  Attributes attributes;
};

// A chunk's row without its text (what an index generation keeps in memory).
struct ChunkRow {
  Label label = 0;
  std::string doc_id;
  int64_t doc_version = 0;
  int ordinal = 0;
  Label parent = 0;  // 0: none
  bool searchable = true;
  size_t begin = 0, end = 0;
  PageRange pages;
  std::vector<float> vector;  // empty unless asked for
};

struct NewChunk {
  const Chunk* chunk = nullptr;
  std::span<const float> vector;  // empty for unsearchable parents
};

class RagDb {
 public:
  static absl::StatusOr<std::unique_ptr<RagDb>> Open(const std::string& path,
                                                     const tenancy::FieldCipher* cipher);
  ~RagDb();

  absl::StatusOr<std::optional<DocumentRow>> GetDocument(std::string_view tenant,
                                                         std::string_view kb,
                                                         std::string_view doc_id);
  // Ordered by id, after `after`; data_source "" means every source.
  absl::StatusOr<std::vector<DocumentState>> ListDocuments(std::string_view tenant,
                                                           std::string_view kb,
                                                           std::string_view data_source,
                                                           std::string_view after, int limit);
  // Every live document of a knowledge base with its attributes (index loading).
  absl::StatusOr<std::vector<DocumentRow>> LiveDocuments(std::string_view tenant,
                                                         std::string_view kb);

  // Records new content for a document (creating the row if needed) with status
  // PENDING; durable when it returns. The live chunks stay until replaced.
  absl::Status Stage(std::string_view tenant, std::string_view kb, std::string_view data_source,
                     std::string_view doc_id, const StagedContent& staged);
  // Stage for many documents in one transaction (one fsync): all or none.
  struct StageRequest {
    std::string data_source;
    std::string doc_id;
    StagedContent staged;
  };
  absl::Status StageAll(std::string_view tenant, std::string_view kb,
                        std::span<const StageRequest> requests);
  absl::StatusOr<std::optional<StagedContent>> Staged(std::string_view tenant,
                                                      std::string_view kb,
                                                      std::string_view doc_id);
  // `synced` false: the write is not fsync'd itself; the next synced commit
  // (WAL keeps order) makes it durable. For writes whose loss in a power cut is
  // harmless: a document's IN_PROGRESS status, chunk rows CommitVersion follows.
  absl::Status SetStatus(std::string_view tenant, std::string_view kb, std::string_view doc_id,
                         std::string_view status, std::string_view reason, bool synced = true);

  // Writes a document version's chunks for generation `gen` in one transaction;
  // the labels, in order. `synced` as for SetStatus.
  absl::StatusOr<std::vector<Label>> InsertChunks(std::string_view tenant, std::string_view kb,
                                                  int64_t gen, std::string_view doc_id,
                                                  int64_t doc_version,
                                                  std::span<const NewChunk> chunks,
                                                  bool synced = true);
  // Makes `version` the document's live one: status INDEXED, the extracted text
  // and attributes stored, the staged content cleared (only if its hash is still
  // `content_hash`: newer staged content waits for its own run).
  absl::Status CommitVersion(std::string_view tenant, std::string_view kb,
                             std::string_view doc_id, int64_t version,
                             const StagedContent& staged, std::string_view extracted_json,
                             const DocumentState& info);
  // Chunks of a document in a generation, optionally only those of other versions.
  absl::StatusOr<std::vector<ChunkRow>> DocumentChunks(std::string_view tenant,
                                                       std::string_view kb, int64_t gen,
                                                       std::string_view doc_id);
  absl::Status DeleteChunks(std::string_view tenant, std::string_view kb,
                            std::span<const Label> labels);
  // Every chunk row of a generation (with vectors when asked).
  absl::StatusOr<std::vector<ChunkRow>> GenerationChunks(std::string_view tenant,
                                                         std::string_view kb, int64_t gen,
                                                         bool with_vectors);
  // Chunk texts by label, opened; a missing label yields "".
  absl::StatusOr<std::vector<std::string>> ChunkTexts(std::string_view tenant,
                                                      std::string_view kb,
                                                      std::span<const Label> labels);
  absl::Status DeleteDocumentRow(std::string_view tenant, std::string_view kb,
                                 std::string_view doc_id);
  absl::Status DeleteGeneration(std::string_view tenant, std::string_view kb, int64_t gen);
  absl::Status DeleteKnowledgeBase(std::string_view tenant, std::string_view kb);
  absl::Status AdminDeleteTenant(std::string_view tenant);

  // Ingestion jobs (Bedrock's), as JSON bodies.
  absl::Status PutJob(std::string_view tenant, const IngestionJob& job);
  absl::StatusOr<std::optional<IngestionJob>> GetJob(std::string_view tenant, std::string_view kb,
                                                     std::string_view id);
  absl::StatusOr<std::vector<IngestionJob>> ListJobs(std::string_view tenant, std::string_view kb,
                                                     std::string_view data_source);

 private:
  struct Impl;
  explicit RagDb(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Attributes as JSON ({"k": "v", "n": 1, "b": true, "l": ["a"]}) and back.
nlohmann::json AttributesToJson(const Attributes& attributes);
absl::StatusOr<Attributes> AttributesFromJson(const nlohmann::json& json, std::string_view field);

}  // namespace basalt::rag
