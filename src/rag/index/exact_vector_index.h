// ExactVectorIndex: VectorIndex by exact scan of a flat array. It is the fake
// the contract tests and the services' tests use, the reference HNSW's recall
// is measured against, and a real engine for small indexes.
//
// Vectors sit contiguously (slot i at [i * d, (i + 1) * d)); Remove moves the
// last slot into the hole, so a scan never skips tombstones. A search is one
// pass: the filter is tested first, the inner product only for passing
// labels, and a bounded heap keeps the top k. Cost: O(n) filter calls plus
// O(passing * d) multiply-adds; about 100k x 384 floats take ~15 ms, so for
// large unfiltered indexes use HnswVectorIndex.
//
// Thread-safety: as the port. Search holds a shared lock, Add/Remove an
// exclusive one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rag/vector_index.h"

namespace basalt::rag {

class ExactVectorIndex final : public VectorIndex {
 public:
  // Loads the index saved at `path` when that file exists, else starts empty;
  // an empty `path` starts empty. kInvalidArgument when dimensions < 1;
  // kDataLoss when the file is corrupt, short, or of another dimension.
  static absl::StatusOr<std::unique_ptr<ExactVectorIndex>> Open(const std::string& path,
                                                                int dimensions);

  int dimensions() const override { return dimensions_; }
  size_t size() const override;
  absl::Status Add(Label label, std::span<const float> vector) override;
  absl::Status Remove(Label label) override;
  absl::StatusOr<std::vector<VectorHit>> Search(const VectorQuery& query) const override;
  // Format: index_file.h with magic "BSLTFLAT"; payload: count labels (u64),
  // then count vectors (f32), slot order.
  absl::Status Save(const std::string& path) const override;

 private:
  explicit ExactVectorIndex(int dimensions) : dimensions_(dimensions) {}

  const int dimensions_;
  mutable absl::Mutex mutex_;
  std::vector<float> vectors_ ABSL_GUARDED_BY(mutex_);
  std::vector<Label> labels_ ABSL_GUARDED_BY(mutex_);  // by slot
  absl::flat_hash_map<Label, uint32_t> slots_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace basalt::rag
