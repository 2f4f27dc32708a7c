// SEMANTIC chunking (chunker.h): sentences, their embeddings' distances, and
// breakpoints above a percentile of those distances.
#include <algorithm>
#include <cmath>

#include "core/strings.h"
#include "rag/chunk/chunker.h"
#include "rag/chunk/spans.h"
#include "rag/chunk/units.h"

namespace basalt::rag {
namespace {

using chunk_internal::Span;
using chunk_internal::Unit;

double CosineDistance(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0;
  double na = 0;
  double nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na == 0 || nb == 0) return 1.0;
  return 1.0 - dot / (std::sqrt(na) * std::sqrt(nb));
}

// The p-th percentile of `values` (not empty) with linear interpolation
// between closest ranks, as numpy.percentile does by default.
double Percentile(std::vector<double> values, int p) {
  std::sort(values.begin(), values.end());
  const double rank = (values.size() - 1) * (p / 100.0);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

absl::Status CheckInputs(const Extracted& doc, const std::vector<SemanticUnit>& units,
                         const std::vector<std::vector<float>>& vectors) {
  if (vectors.size() != units.size()) {
    return absl::InvalidArgumentError(
        StrCat("unit_vectors: ", vectors.size(), " vectors for ", units.size(), " units"));
  }
  size_t prev_end = 0;
  for (size_t i = 0; i < units.size(); ++i) {
    const SemanticUnit& u = units[i];
    if (u.begin < prev_end || u.begin > u.end || u.end > doc.text.size()) {
      return absl::InvalidArgumentError(
          StrCat("units[", i, "]: span [", u.begin, ", ", u.end, ") is not in the document in order"));
    }
    prev_end = u.end;
    if (vectors[i].size() != vectors[0].size()) {
      return absl::InvalidArgumentError(StrCat("unit_vectors[", i, "]: ", vectors[i].size(),
                                               " dimensions, expected ", vectors[0].size()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<SemanticUnit> SemanticUnits(const Extracted& doc, const ChunkingConfig& config) {
  const int max_tokens = std::clamp(config.max_tokens, 1, kMaxChunkTokens);
  const size_t buffer = static_cast<size_t>(std::clamp(config.buffer_size, 0, 1));
  const std::vector<Unit> sentences = chunk_internal::SentenceUnits(
      doc.text, {0, doc.text.size()}, chunk_internal::HeadingLineStarts(doc), max_tokens);
  const std::string_view text = doc.text;
  std::vector<SemanticUnit> units;
  units.reserve(sentences.size());
  for (size_t i = 0; i < sentences.size(); ++i) {
    const size_t lo = i >= buffer ? i - buffer : 0;
    const size_t hi = std::min(i + buffer, sentences.size() - 1);
    const size_t begin = sentences[lo].begin;
    units.push_back({std::string(text.substr(begin, sentences[hi].end - begin)),
                     sentences[i].begin, sentences[i].end, sentences[i].tokens});
  }
  return units;
}

absl::StatusOr<std::vector<Chunk>> SemanticChunks(
    const Extracted& doc, const std::vector<SemanticUnit>& units,
    const std::vector<std::vector<float>>& unit_vectors, const ChunkingConfig& config) {
  ChunkingConfig semantic = config;
  semantic.strategy = ChunkingStrategy::kSemantic;
  if (auto s = ValidateChunkingConfig(semantic); !s.ok()) return s;
  if (auto s = CheckInputs(doc, units, unit_vectors); !s.ok()) return s;
  std::vector<Chunk> chunks;
  if (units.empty()) return chunks;

  std::vector<double> distances(units.size() - 1);
  for (size_t i = 0; i + 1 < units.size(); ++i) {
    distances[i] = CosineDistance(unit_vectors[i], unit_vectors[i + 1]);
  }
  const double threshold =
      distances.empty() ? 0.0 : Percentile(distances, config.breakpoint_percentile);

  // Units as the packer sees them; a unit's own tokens are recounted only when
  // the caller left them out.
  std::vector<Unit> group;
  auto flush = [&] {
    for (Span span : chunk_internal::PackUnits(group, config.max_tokens, false)) {
      if (auto chunk = chunk_internal::MakeChunk(doc, span)) chunks.push_back(std::move(*chunk));
    }
    group.clear();
  };
  const std::string_view text = doc.text;
  for (size_t i = 0; i < units.size(); ++i) {
    const SemanticUnit& u = units[i];
    const int tokens =
        u.tokens > 0 ? u.tokens
                     : static_cast<int>(models::builtin::CountTokens(
                           text.substr(u.begin, u.end - u.begin)));
    const bool paragraph =
        group.empty() || chunk_internal::ParagraphBreak(text, group.back().end, u.begin);
    group.push_back({u.begin, u.end, tokens, paragraph, false});
    if (i < distances.size() && distances[i] > threshold) flush();
  }
  flush();
  return chunks;
}

}  // namespace basalt::rag
