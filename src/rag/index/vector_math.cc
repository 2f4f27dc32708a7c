#include "rag/index/vector_math.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "core/strings.h"

namespace basalt::rag {

float DotPortable(const float* a, const float* b, size_t n) {
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

namespace {

__attribute__((target("avx2,fma"))) inline float HorizontalSum(__m256 v) {
  __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum4 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
  sum4 = _mm_add_ss(sum4, _mm_movehdup_ps(sum4));
  return _mm_cvtss_f32(sum4);
}

}  // namespace

__attribute__((target("avx2,fma"))) float DotAvx2(const float* a, const float* b, size_t n) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  if (i + 8 <= n) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    i += 8;
  }
  float sum = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

__attribute__((target("avx512f"))) float DotAvx512(const float* a, const float* b, size_t n) {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  if (i + 16 <= n) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    i += 16;
  }
  // Lanes summed through memory: GCC 12's 512-bit extracts (and so
  // _mm512_reduce_add_ps) trip -Wuninitialized on their undefined operand.
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(acc0, acc1));
  __m256 half = _mm256_add_ps(_mm256_load_ps(lanes), _mm256_load_ps(lanes + 8));
  float sum = HorizontalSum(half);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

namespace {

DotFunction ChooseDotKernel() {
  const char* cap = std::getenv("BASALT_SIMD");
  const std::string_view limit = cap == nullptr ? "" : cap;
  if (limit == "portable") return &DotPortable;
  __builtin_cpu_init();
  if (limit != "avx2" && __builtin_cpu_supports("avx512f")) return &DotAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &DotAvx2;
  return &DotPortable;
}

}  // namespace

DotFunction DotKernel() {
  static const DotFunction kernel = ChooseDotKernel();
  return kernel;
}

float Dot(const float* a, const float* b, size_t n) { return DotKernel()(a, b, n); }

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
