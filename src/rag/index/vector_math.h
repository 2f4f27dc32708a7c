// What the vector adapters share: the inner product, input checks, and a
// bounded top-k collector.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "rag/vector_index.h"

namespace basalt::rag {

// The inner product of a[0, n) and b[0, n), with the widest kernel this CPU
// runs (DotKernel). Kernels sum in different orders, so results can differ in
// the last bits from one CPU to another, never within one process.
float Dot(const float* a, const float* b, size_t n);

using DotFunction = float (*)(const float* a, const float* b, size_t n);

// The kernels, exposed so the HNSW space can bind one without an extra
// indirect call. DotPortable: sixteen independent partial sums (the compiler
// vectorises it for the baseline ISA). DotAvx2 (AVX2 + FMA) and DotAvx512
// (AVX-512F): intrinsics; call them only where DotKernel chose them.
float DotPortable(const float* a, const float* b, size_t n);
float DotAvx2(const float* a, const float* b, size_t n);
float DotAvx512(const float* a, const float* b, size_t n);

// Chosen once from the CPU's features: DotAvx512, else DotAvx2, else
// DotPortable. BASALT_SIMD=portable|avx2 in the environment caps it (for
// comparing kernels and for tests).
DotFunction DotKernel();

// Scalar quantization for scans: code[i] = round(v[i] / scale) in [-127, 127]
// with scale = max|v[i]| / 127, so v ~ code * scale. Returns the scale (0 for
// an all-zero vector).
float QuantizeInt8(const float* v, size_t n, int8_t* code);

// The inner product of two codes; times both scales it approximates the
// inner product of the vectors (within ~1% for unit vectors of 384
// dimensions). Integer arithmetic, so the compiler vectorises it freely.
int32_t DotInt8(const int8_t* a, const int8_t* b, size_t n);

// kInvalidArgument unless `vector` has `dimensions` finite values. `what`
// names the argument ("vector", "query vector").
absl::Status CheckVector(std::span<const float> vector, int dimensions, std::string_view what);

// kInvalidArgument unless k >= 1 and ef >= 0.
absl::Status CheckQuery(const VectorQuery& query, int dimensions);

// Keeps the k best (score, label) pairs offered: higher score first, ties by
// lower label, so results are deterministic.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) { heap_.reserve(std::min<size_t>(k, 4096)); }
  size_t size() const { return heap_.size(); }
  bool full() const { return heap_.size() >= k_; }
  // Whether (score, label) would be kept now.
  bool Accepts(float score, Label label) const {
    return !full() || Better({label, score}, heap_.front());
  }
  void Offer(float score, Label label);
  // The kept hits, best first. Leaves the collector empty.
  std::vector<VectorHit> Take();

  static bool Better(const VectorHit& a, const VectorHit& b) {
    return a.score > b.score || (a.score == b.score && a.label < b.label);
  }

 private:
  size_t k_;
  std::vector<VectorHit> heap_;  // a heap whose front is the worst kept
};

}  // namespace basalt::rag
