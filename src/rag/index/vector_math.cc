#include "rag/index/vector_math.h"

#include <algorithm>
#include <cmath>

#include "core/strings.h"

namespace basalt::rag {

float Dot(const float* a, const float* b, size_t n) {
  constexpr size_t kLanes = 16;
  float acc[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float sum = 0;
  for (; i < n; ++i) sum += a[i] * b[i];
  for (size_t j = 0; j < kLanes; ++j) sum += acc[j];
  return sum;
}

float QuantizeInt8(const float* v, size_t n, int8_t* code) {
  float max = 0;
  for (size_t i = 0; i < n; ++i) max = std::max(max, std::fabs(v[i]));
  if (max == 0) {
    std::fill(code, code + n, int8_t{0});
    return 0;
  }
  const float inverse = 127.0f / max;
  for (size_t i = 0; i < n; ++i) code[i] = static_cast<int8_t>(std::lrint(v[i] * inverse));
  return max / 127.0f;
}

int32_t DotInt8(const int8_t* a, const int8_t* b, size_t n) {
  int32_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += static_cast<int16_t>(a[i]) * static_cast<int16_t>(b[i]);
  return sum;
}

absl::Status CheckVector(std::span<const float> vector, int dimensions, std::string_view what) {
  if (vector.size() != static_cast<size_t>(dimensions)) {
    return absl::InvalidArgumentError(
        StrCat(what, " has ", vector.size(), " dimensions; the index holds ", dimensions));
  }
  for (float v : vector) {
    if (!std::isfinite(v))
      return absl::InvalidArgumentError(StrCat(what, " holds NaN or infinity"));
  }
  return absl::OkStatus();
}

absl::Status CheckQuery(const VectorQuery& query, int dimensions) {
  if (query.k < 1) return absl::InvalidArgumentError(StrCat("k must be at least 1, not ", query.k));
  if (query.ef < 0)
    return absl::InvalidArgumentError(StrCat("ef must not be negative, not ", query.ef));
  return CheckVector(query.vector, dimensions, "query vector");
}

namespace {
// std heaps keep the "largest" at the front; with Better as "less", the
// largest is the worst kept hit.
bool HeapLess(const VectorHit& a, const VectorHit& b) { return TopK::Better(a, b); }
}  // namespace

void TopK::Offer(float score, Label label) {
  if (k_ == 0) return;
  VectorHit hit{label, score};
  if (!full()) {
    heap_.push_back(hit);
    std::push_heap(heap_.begin(), heap_.end(), HeapLess);
    return;
  }
  if (!Better(hit, heap_.front())) return;
  std::pop_heap(heap_.begin(), heap_.end(), HeapLess);
  heap_.back() = hit;
  std::push_heap(heap_.begin(), heap_.end(), HeapLess);
}

std::vector<VectorHit> TopK::Take() {
  std::sort_heap(heap_.begin(), heap_.end(), HeapLess);
  return std::move(heap_);
}

}  // namespace basalt::rag
