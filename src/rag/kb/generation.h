// Generation: one built index of a knowledge base — its vector index, its
// keyword index, and in memory the map from labels to chunks and documents
// that filters and liveness checks read. A knowledge base has one active
// generation and, while it re-indexes after a chunking or embedder change, a
// pending one (kb/service.h).
//
// Versions, not locks, give atomic replacement: a document's new chunks are
// added to the indexes first, then its live version flips (one assignment under
// the lock), then the old chunks are removed. A query accepts only chunks of
// the live version of a document that passes the filter, so it sees the old
// version or the new one, never a mix or nothing; the check runs inside the
// index search (a LabelFilter), so it never cuts results.
//
// Persistence: the keyword index is its own SQLite file, the vector index is
// saved by Save(). A marker file says both match rag.db; it is removed before
// the first change after a save. Opened without the marker (a crash), both
// indexes are rebuilt from rag.db's rows, which hold every vector and text.
//
// Thread-safety: every method may be called from any thread. Searches run
// concurrently with each other and with changes. Calls BLOCK: BlockingPool only.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "rag/filter/attribute_columns.h"
#include "rag/filter/fusion.h"
#include "rag/filter/retrieval_filter.h"
#include "rag/kb/kb_types.h"
#include "rag/kb/rag_db.h"
#include "rag/text_index.h"
#include "rag/vector_index.h"

namespace basalt::rag {

struct GenerationOptions {
  std::string dir;  // where the index files live ("" = memory only, for tests)
  std::string tenant;
  std::string kb;
  int64_t number = 1;
  int dimensions = 0;
  int hnsw_m = 16;
  int ef_construction = 100;
  int ef_search = 128;
};

// What a search asks of a generation.
struct GenerationQuery {
  std::vector<float> vector;  // empty for keyword-only
  std::string text;           // empty for vector-only
  int k = 5;
  const RetrievalFilter* filter = nullptr;
  FusionOptions fusion;
  int candidates = 0;  // per-index candidates before fusion; 0: max(4k, 40)
  int ef = 0;          // HNSW search breadth; 0: the generation's ef_search
};

struct GenerationHit {
  Label label = 0;
  std::string doc_id;
  int64_t doc_version = 0;
  Label parent = 0;
  size_t begin = 0, end = 0;
  PageRange pages;
  double score = 0, vector_score = 0, text_score = 0;
};

struct GenerationResult {
  std::vector<GenerationHit> hits;
  size_t passing = 0;
};

// A document as a generation knows it.
struct LiveDocument {
  std::string id;
  std::string data_source;
  std::string source_uri;
  int64_t version = 0;
  Attributes attributes;
};

class Generation {
 public:
  // Opens (or creates) the generation's indexes and loads its rows from `db`,
  // rebuilding the indexes from the rows after an unclean stop.
  static absl::StatusOr<std::unique_ptr<Generation>> Open(const GenerationOptions& options,
                                                          RagDb& db);
  ~Generation();

  const GenerationOptions& options() const { return options_; }

  // Indexes a document version's chunks (rows already in rag.db); they are
  // not searchable until SetLive names their version.
  absl::Status Add(std::string_view doc_id, int64_t version, std::span<const Label> labels,
                   std::span<const Chunk> chunks, std::span<const std::vector<float>> vectors);
  // Makes `doc.version` the live version of the document (0: none, i.e.
  // deleted). Returns the labels of every other version, for Remove.
  std::vector<Label> SetLive(const LiveDocument& doc);
  // Removes chunks from both indexes (texts opened from rag.db) and from rag.db.
  absl::Status Remove(std::span<const Label> labels);
  // The live version of a document here (0: none).
  int64_t LiveVersion(std::string_view doc_id) const;

  absl::StatusOr<GenerationResult> Search(const GenerationQuery& query) const;
  std::optional<LiveDocument> DocumentCopy(std::string_view doc_id) const;

  size_t live_chunks() const;
  size_t documents() const;

  // Saves the vector index and writes the clean marker.
  absl::Status Save();
  // Deletes the generation's files (after it was retired).
  absl::Status DeleteFiles();

 private:
  struct ChunkMeta {
    uint32_t doc = 0;  // slot in docs_
    int64_t version = 0;
    Label parent = 0;
    bool searchable = true;
    uint32_t begin = 0, end = 0;
    PageRange pages;
  };
  struct DocSlot {
    LiveDocument doc;
    uint32_t live_chunks = 0;  // searchable chunks of the live version
    std::vector<Label> labels;  // chunks of every version still indexed
  };

  Generation(GenerationOptions options, RagDb& db);
  absl::Status Load();
  absl::Status Rebuild(const std::vector<ChunkRow>& rows);
  void MarkDirty();
  uint32_t SlotFor(std::string_view doc_id);
  void SyncLive(uint32_t slot);  // requires mu_ held exclusively

  const GenerationOptions options_;
  RagDb& db_;
  std::unique_ptr<VectorIndex> vectors_;
  std::unique_ptr<TextIndex> text_;

  mutable std::shared_mutex mu_;  // guards the maps below
  absl::flat_hash_map<Label, ChunkMeta> chunks_;
  std::vector<DocSlot> docs_;
  absl::flat_hash_map<std::string, uint32_t> doc_slots_;
  AttributeColumns columns_;     // docs_[i].doc.attributes by key, for filters
  std::vector<uint32_t> live_of_;  // docs_[i]'s live chunks (0: not live), kept by SyncLive
  size_t live_chunks_ = 0;

  // Changes hold it shared; Save holds it exclusively, so a save sees no change
  // in flight and the marker it writes is true.
  mutable std::shared_mutex save_mu_;
  std::atomic<bool> clean_{false};
};

}  // namespace basalt::rag
