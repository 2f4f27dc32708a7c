// HnswGraph: hnswlib 0.6.2's HierarchicalNSW<float> over the inner-product
// space, behind an interface that returns Status and never throws. It is the
// only code that includes hnswlib (whose headers define non-inline functions,
// so one translation unit may include them), and the one place that knows
// hnswlib's internals.
//
// Searches do not use hnswlib's searchKnn: that reads the shared `ef_` field,
// so two threads could not search with different breadths. The descent and
// the base-layer search here are hnswlib's algorithm over its public members,
// with a breadth per call and, for filtered queries, the filter applied inside
// the base-layer search (hnswlib 0.7's approach, which 0.6.2 lacks): the walk
// goes through every node, but only passing labels become results, so the
// search continues until it holds `ef` passing candidates.
//
// Thread-safety: none of its own; HnswVectorIndex holds the locks each method
// names. hnswlib itself allows Add concurrently with Add and Search (it locks
// per node); everything else needs the caller's exclusive lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rag/vector_index.h"

namespace basalt::rag {

class HnswGraph {
 public:
  struct Params {
    int dimensions = 0;
    int m = 16;
    int ef_construction = 200;
    size_t capacity = 1024;
  };

  static absl::StatusOr<std::unique_ptr<HnswGraph>> Create(const Params& params);
  // Loads a file hnswlib's saveIndex wrote. Before hnswlib parses it, checks
  // that its fields are self-consistent, of `dimensions`, and hold
  // `expected_count` elements: kDataLoss otherwise, or when hnswlib throws.
  static absl::StatusOr<std::unique_ptr<HnswGraph>> Load(const std::string& raw_path,
                                                         int dimensions, uint64_t expected_count);
  ~HnswGraph();

  // Writes hnswlib's format to `raw_path` and checks the size written.
  // Caller: no concurrent Add.
  absl::Status Save(const std::string& raw_path) const;

  int m() const;
  size_t capacity() const;
  // Elements ever added, removed ones included (internal ids are [0, count)).
  // Caller: no concurrent Add.
  size_t count() const;

  // Adds `vector` under `label`, or replaces the vector of a label already
  // present (un-deleting it); returns its internal id. Caller: shared lock for
  // a new label (hnswlib locks per node), exclusive for a known one, and
  // count() < capacity() guaranteed. kInternal when hnswlib throws.
  absl::StatusOr<uint32_t> Add(Label label, const float* vector);
  // Caller: exclusive lock.
  absl::Status Resize(size_t capacity);
  absl::Status MarkDeleted(uint32_t id);
  bool IsDeleted(uint32_t id) const;
  Label LabelOf(uint32_t id) const;
  const float* VectorOf(uint32_t id) const;

  struct SearchResult {
    std::vector<VectorHit> hits;  // best first, score = inner product
    bool gave_up = false;         // the distance budget ran out; hits is empty
  };
  // The approximate top `k` by inner product, exploring `ef` (>= k)
  // candidates; with `filter`, only labels passing it, and at most
  // `max_distances` distance computations in the base layer (a filter
  // passing few labels would otherwise walk the whole graph). Removed
  // elements are never returned. Caller: shared lock.
  absl::StatusOr<SearchResult> Search(const float* query, size_t k, size_t ef,
                                      const LabelFilter* filter, size_t max_distances) const;

 private:
  struct State;
  explicit HnswGraph(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

}  // namespace basalt::rag
