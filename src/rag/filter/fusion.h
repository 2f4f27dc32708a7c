// Hybrid fusion: one ranked list out of a vector search and a keyword search
// over the same index generation.
//
//   kRrf       score = 2 * (wv / (rrf_k + rank_v) + wt / (rrf_k + rank_t))
//              ranks are 1-based positions in each input list; a list the hit
//              is absent from adds nothing. With wv = wt = 0.5 this is classic
//              Reciprocal Rank Fusion (Cormack et al., 2009), scores included.
//   kWeighted  each list's scores are min-max normalised to [0, 1] (a list of
//              one hit, or of equal scores, normalises to 1), then
//              score = wv * v + wt * t with absent = 0.
// wv = vector_weight, wt = 1 - vector_weight. A hit found only by a list of
// weight 0 is dropped (vector_weight 1 is "vector only").
//
// Inputs are best first, as the ports return them; a label repeated within one
// list keeps its first (best) entry. Output is best first, ties broken by the
// smaller label, so fusion is deterministic. Pure functions; thread-safe.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "rag/text_index.h"
#include "rag/types.h"
#include "rag/vector_index.h"

namespace basalt::rag {

struct FusionOptions {
  enum class Mode { kRrf, kWeighted };
  Mode mode = Mode::kRrf;
  double rrf_k = 60;           // > 0
  double vector_weight = 0.5;  // 0..1; the text weight is 1 - vector_weight
};

struct FusedHit {
  Label label = 0;
  double score = 0;         // the fused score, higher is better
  double vector_score = 0;  // the cosine similarity as given; 0 when absent
  double text_score = 0;    // the BM25 score as given; 0 when absent
  int vector_rank = -1;     // 1-based; -1 when absent from that list
  int text_rank = -1;
};

// The best `k` fused hits (all of them when k <= 0). Options out of range are
// clamped (vector_weight to [0, 1]; rrf_k <= 0 becomes 60).
std::vector<FusedHit> Fuse(std::span<const VectorHit> vector_hits,
                           std::span<const TextHit> text_hits, const FusionOptions& options,
                           int k);

// Reads {"mode": "rrf"|"weighted", "vectorWeight": 0..1, "rrfK": > 0} over
// `defaults` (absent or null fields keep the default, so a per-query override
// can sit on a knowledge base's setting). kInvalidArgument naming the field
// under `path`, e.g. "hybrid.vectorWeight: must be a number from 0 to 1".
absl::StatusOr<FusionOptions> ParseFusionOptions(const nlohmann::json& hybrid,
                                                 const FusionOptions& defaults = {},
                                                 std::string_view path = "hybrid");

// The options in the form ParseFusionOptions reads.
nlohmann::json FusionOptionsJson(const FusionOptions& options);

}  // namespace basalt::rag
