// VectorIndex: the port for nearest-neighbour search over one index
// generation's chunk vectors, by cosine similarity (vectors are unit length,
// so inner product). Adapters: index/hnsw_index.h (hnswlib, the embedded
// default) and index/exact_vector_index.h (exact scan; the fake, and the
// reference the contract tests compare HNSW's recall with). The PostgreSQL
// scale-out adds its own.
//
// Filters: a query may carry a predicate over labels and the number of
// labels that pass it. The result is the top k of the PASSING labels, as near
// exact as the ANN recall allows: an adapter never returns fewer than
// min(k, passing) because the filter cut candidates after a top-k. (HNSW over-
// fetches adaptively and switches to an exact scan of the passing set when the
// filter is selective.)
//
// Thread-safety: every method may be called from any thread; Search runs
// concurrently with Search, and with Add/Remove (adapters lock internally).
// Calls are CPU-bound and short (Search: well under a millisecond at 100k
// vectors), except Save and Open, which do disk I/O: BlockingPool only.
//
// Errors:
//   kInvalidArgument   a vector of the wrong dimension, k < 1
//   kInternal          the library failed (its exception is caught here)
//   (Open) kDataLoss   the saved file is corrupt or of another dimension
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rag/types.h"

namespace basalt::rag {

using LabelFilter = std::function<bool(Label)>;

struct VectorHit {
  Label label = 0;
  float score = 0;  // cosine similarity, higher is closer
};

struct VectorQuery {
  std::span<const float> vector;
  int k = 10;
  const LabelFilter* filter = nullptr;  // null: every label passes
  // How many labels pass the filter (an upper bound is fine); lets the adapter
  // choose between over-fetching and an exact scan of the passing set.
  size_t passing = std::numeric_limits<size_t>::max();
  int ef = 0;  // search breadth; 0: the index's default
  // Optional, with a filter: every label that passes it, when the caller can
  // list them cheaply (a selective filter). A hint: an adapter may scan just
  // these instead of testing every label; `filter` still decides.
  std::span<const Label> passing_labels;
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  virtual int dimensions() const = 0;
  // Live (not removed) vectors.
  virtual size_t size() const = 0;
  // Adds or replaces the vector of `label`.
  virtual absl::Status Add(Label label, std::span<const float> vector) = 0;
  // Removes `label`; OK when absent.
  virtual absl::Status Remove(Label label) = 0;
  // Best first.
  virtual absl::StatusOr<std::vector<VectorHit>> Search(const VectorQuery& query) const = 0;
  // Writes the index durably to `path` (temporary file, fsync, rename).
  virtual absl::Status Save(const std::string& path) const = 0;
};

}  // namespace basalt::rag
