// Test helpers for the vector index tests: deterministic unit vectors and
// label subsets.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "rag/types.h"

namespace basalt::rag::testing {

// `n` vectors of `d` dimensions, unit length, drawn around `clusters` random
// centres (embeddings cluster by topic; uniform noise on the sphere is the
// worst case no real corpus has). clusters == 0: uniform on the sphere.
inline std::vector<std::vector<float>> UnitVectors(size_t n, int d, uint64_t seed, int clusters = 0,
                                                   float spread = 0.5f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto normalise = [](std::vector<float>& v) {
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& x : v) x *= inv;
  };
  std::vector<std::vector<float>> centres(static_cast<size_t>(clusters));
  for (auto& c : centres) {
    c.resize(static_cast<size_t>(d));
    for (float& x : c) x = normal(rng);
    normalise(c);
  }
  std::vector<std::vector<float>> out(n, std::vector<float>(static_cast<size_t>(d)));
  for (size_t i = 0; i < n; ++i) {
    const std::vector<float>* centre = clusters > 0 ? &centres[rng() % centres.size()] : nullptr;
    for (int j = 0; j < d; ++j) {
      const float noise = normal(rng);
      out[i][j] = centre != nullptr ? (*centre)[j] + spread * noise / std::sqrt(float(d)) : noise;
    }
    normalise(out[i]);
  }
  return out;
}

// Whether `label` is in a pseudo-random subset holding `per_million` of all
// labels (a hash, so the subset is spread across the index).
inline bool InSubset(Label label, uint64_t per_million) {
  uint64_t h = label * 0x9E3779B97F4A7C15ULL;
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 29;
  return h % 1000000 < per_million;
}

}  // namespace basalt::rag::testing
