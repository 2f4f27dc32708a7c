#include "rag/filter/fusion.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "absl/status/status.h"
#include "core/strings.h"

namespace basalt::rag {
namespace {

using json = nlohmann::json;

constexpr double kDefaultRrfK = 60;

// Min-max normalisation of one list's scores; a flat list maps to 1.
struct Range {
  double min = 0;
  double max = 0;
  double Normalise(double s) const { return max > min ? (s - min) / (max - min) : 1.0; }
};

template <class Hit>
Range ScoreRange(std::span<const Hit> hits) {
  Range r;
  if (hits.empty()) return r;
  r.min = r.max = hits.front().score;
  for (const Hit& h : hits) {
    r.min = std::min<double>(r.min, h.score);
    r.max = std::max<double>(r.max, h.score);
  }
  return r;
}

}  // namespace

std::vector<FusedHit> Fuse(std::span<const VectorHit> vector_hits,
                           std::span<const TextHit> text_hits, const FusionOptions& options,
                           int k) {
  const double wv = std::isnan(options.vector_weight)
                        ? 0.5
                        : std::clamp(options.vector_weight, 0.0, 1.0);
  const double wt = 1.0 - wv;
  const double rrf_k = options.rrf_k > 0 ? options.rrf_k : kDefaultRrfK;

  std::vector<FusedHit> fused;
  fused.reserve(vector_hits.size() + text_hits.size());
  std::unordered_map<Label, size_t> index;
  index.reserve(vector_hits.size() + text_hits.size());
  auto entry = [&](Label label) -> FusedHit& {
    auto [it, inserted] = index.try_emplace(label, fused.size());
    if (inserted) fused.push_back(FusedHit{.label = label});
    return fused[it->second];
  };
  for (size_t i = 0; i < vector_hits.size(); ++i) {
    FusedHit& hit = entry(vector_hits[i].label);
    if (hit.vector_rank > 0) continue;  // a repeat: the first entry stands
    hit.vector_rank = static_cast<int>(i) + 1;
    hit.vector_score = vector_hits[i].score;
  }
  for (size_t i = 0; i < text_hits.size(); ++i) {
    FusedHit& hit = entry(text_hits[i].label);
    if (hit.text_rank > 0) continue;
    hit.text_rank = static_cast<int>(i) + 1;
    hit.text_score = text_hits[i].score;
  }

  const Range vector_range = ScoreRange(vector_hits);
  const Range text_range = ScoreRange(text_hits);
  for (FusedHit& hit : fused) {
    double score = 0;
    if (options.mode == FusionOptions::Mode::kRrf) {
      if (hit.vector_rank > 0) score += 2 * wv / (rrf_k + hit.vector_rank);
      if (hit.text_rank > 0) score += 2 * wt / (rrf_k + hit.text_rank);
    } else {
      if (hit.vector_rank > 0) score += wv * vector_range.Normalise(hit.vector_score);
      if (hit.text_rank > 0) score += wt * text_range.Normalise(hit.text_score);
    }
    hit.score = score;
  }
  std::erase_if(fused, [&](const FusedHit& hit) {
    return !((hit.vector_rank > 0 && wv > 0) || (hit.text_rank > 0 && wt > 0));
  });

  auto better = [](const FusedHit& a, const FusedHit& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.label < b.label;
  };
  const size_t limit =
      k <= 0 ? fused.size() : std::min(fused.size(), static_cast<size_t>(k));
  std::partial_sort(fused.begin(), fused.begin() + static_cast<std::ptrdiff_t>(limit),
                    fused.end(), better);
  fused.resize(limit);
  return fused;
}

absl::StatusOr<FusionOptions> ParseFusionOptions(const json& hybrid,
                                                 const FusionOptions& defaults,
                                                 std::string_view path) {
  FusionOptions options = defaults;
  if (hybrid.is_null()) return options;
  if (!hybrid.is_object()) {
    return absl::InvalidArgumentError(StrCat(path, ": must be an object"));
  }
  for (auto it = hybrid.begin(); it != hybrid.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    const std::string field = StrCat(path, ".", name);
    if (v.is_null()) continue;
    if (name == "mode") {
      const std::string* mode = v.is_string() ? &v.get_ref<const std::string&>() : nullptr;
      if (mode != nullptr && *mode == "rrf") {
        options.mode = FusionOptions::Mode::kRrf;
      } else if (mode != nullptr && *mode == "weighted") {
        options.mode = FusionOptions::Mode::kWeighted;
      } else {
        return absl::InvalidArgumentError(StrCat(field, ": must be \"rrf\" or \"weighted\""));
      }
    } else if (name == "vectorWeight") {
      if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= 1)) {
        return absl::InvalidArgumentError(StrCat(field, ": must be a number from 0 to 1"));
      }
      options.vector_weight = v.get<double>();
    } else if (name == "rrfK") {
      if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>())) {
        return absl::InvalidArgumentError(StrCat(field, ": must be a number greater than 0"));
      }
      options.rrf_k = v.get<double>();
    } else {
      return absl::InvalidArgumentError(
          StrCat(field, ": unknown field; expected mode, vectorWeight or rrfK"));
    }
  }
  return options;
}

json FusionOptionsJson(const FusionOptions& options) {
  return json{{"mode", options.mode == FusionOptions::Mode::kRrf ? "rrf" : "weighted"},
              {"vectorWeight", options.vector_weight},
              {"rrfK", options.rrf_k}};
}

}  // namespace basalt::rag
