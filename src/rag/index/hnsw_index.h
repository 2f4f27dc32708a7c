// HnswVectorIndex: VectorIndex on hnswlib's HNSW graph (inner product; the
// vectors are unit length, so the score is cosine similarity). The embedded
// default for a knowledge base's chunk vectors.
//
// Filtered search ("filters never lose results"), two plans:
//   - the scan, when the query's `passing` estimate is at most
//     ExactScanLimit(size): every live label is tested (or, when the query
//     lists its passing_labels, just those), the passing ones are
//     scored on an int8 copy of their vectors (a quarter of the bytes: the
//     scan is memory-bound), and the best 4k + 32 are rescored exactly on the
//     float vectors. In the bench its recall is 1.000.
//   - the graph, otherwise: the search keeps only passing labels as results
//     while walking through all nodes (hnsw_graph.h), so it returns
//     min(k, passing) hits as long as the graph reaches them cheaply. If it
//     finds fewer, or its work passes GraphBudget(size) (the estimate
//     overstated how many pass), the scan answers instead.
// Unfiltered searches are hnswlib's own base-layer search.
//
// Remove marks the element deleted (hnswlib keeps its node for the graph's
// connectivity; size() counts live ones); adding a removed label again
// un-deletes and updates it. Capacity doubles as needed.
//
// Thread-safety: as the port. Search and Add of a new label run concurrently
// (hnswlib locks per node) under a shared lock; growing the capacity, Remove
// and replacing a known label's vector take it exclusively. Save blocks adds
// and removes, not searches.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rag/vector_index.h"

namespace basalt::rag {

class HnswGraph;

struct HnswOptions {
  std::string path;  // the saved index to load; empty: in memory only
  int dimensions = 0;
  int m = 16;                 // graph degree; 2..256 (a loaded index keeps its own)
  int ef_construction = 200;  // build breadth; >= 1 (a loaded index keeps its own)
  int ef_search = 64;         // default query breadth; >= 1
  size_t initial_capacity = 1024;
};

class HnswVectorIndex final : public VectorIndex {
 public:
  // Loads the index saved at options.path when that file exists, else starts
  // empty. kInvalidArgument for an option out of range (naming it);
  // kDataLoss when the file is corrupt or short or holds another dimension.
  static absl::StatusOr<std::unique_ptr<HnswVectorIndex>> Open(const HnswOptions& options);
  ~HnswVectorIndex() override;

  int dimensions() const override { return options_.dimensions; }
  size_t size() const override { return live_count_.load(std::memory_order_relaxed); }
  absl::Status Add(Label label, std::span<const float> vector) override;
  absl::Status Remove(Label label) override;
  absl::StatusOr<std::vector<VectorHit>> Search(const VectorQuery& query) const override;
  // Format: index_file.h with magic "BSLTHNSW"; payload: hnswlib's saveIndex
  // bytes (which hnswlib's loader trusts, hence the checksummed header).
  absl::Status Save(const std::string& path) const override;

  // Filters passing at most this many of `live` labels are answered by the
  // scan: max(2000, 25% of live). (bench/rag/vector at 100k x 384: the scan
  // is faster up to ~25%, the graph beyond.)
  static size_t ExactScanLimit(size_t live);
  // A filtered graph search that computes more distances than this gives up
  // for the scan (it costs about as much by then): max(4000, live / 20).
  static size_t GraphBudget(size_t live);

 private:
  HnswVectorIndex(const HnswOptions& options, std::unique_ptr<HnswGraph> graph);
  void Publish(Label label, uint32_t id, const float* vector) ABSL_SHARED_LOCKS_REQUIRED(mutex_)
      ABSL_LOCKS_EXCLUDED(ids_mutex_);
  absl::Status Grow() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::Status Replace(Label label, std::span<const float> vector) ABSL_LOCKS_EXCLUDED(mutex_);
  std::vector<VectorHit> Scan(const float* query, size_t k, const LabelFilter& filter) const
      ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  // The scan over the query's passing_labels only (no pass over every label).
  std::vector<VectorHit> ScanLabels(const float* query, size_t k, std::span<const Label> labels,
                                    const LabelFilter& filter) const
      ABSL_SHARED_LOCKS_REQUIRED(mutex_) ABSL_LOCKS_EXCLUDED(ids_mutex_);
  // Scores `ids` on the int8 codes, rescoring the best exactly.
  std::vector<VectorHit> ScoreIds(const float* query, size_t k,
                                  const std::vector<uint32_t>& ids) const
      ABSL_SHARED_LOCKS_REQUIRED(mutex_);

  const HnswOptions options_;
  // Adds hold it shared, Save exclusively, so a saved file has no half-added
  // element. Always taken before mutex_. (absl::Mutex, unlike glibc's
  // reader-preferring rwlock, does not let a stream of searches starve Grow.)
  mutable absl::Mutex add_gate_;
  mutable absl::Mutex mutex_;
  const std::unique_ptr<HnswGraph> graph_;
  size_t capacity_ ABSL_GUARDED_BY(mutex_);  // written under the exclusive lock only
  // Slots handed to Adds of new labels; every internal id is below it.
  std::atomic<size_t> reserved_{0};
  std::atomic<size_t> live_count_{0};
  // By internal id, capacity_ long; reallocated under the exclusive lock.
  // labels_[id] is written once, before live_[id] is released to 1, and read
  // only after live_[id] was acquired as 1: the scan reads it without a lock.
  // codes_/scales_ (the scan's int8 vectors, vector_math.h) follow the same
  // rule: written before live_[id] is released, or under the exclusive lock.
  std::unique_ptr<Label[]> labels_;
  std::unique_ptr<std::atomic<uint8_t>[]> live_;
  std::unique_ptr<int8_t[]> codes_;  // capacity_ x dimensions
  std::unique_ptr<float[]> scales_;
  // Every label ever added (removed ones too) -> internal id.
  mutable absl::Mutex ids_mutex_;
  absl::flat_hash_map<Label, uint32_t> ids_ ABSL_GUARDED_BY(ids_mutex_);
};

}  // namespace basalt::rag
