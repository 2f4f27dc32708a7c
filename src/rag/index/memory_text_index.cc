#include "rag/index/memory_text_index.h"

#include <algorithm>
#include <cmath>

#include "core/strings.h"
#include "rag/index/checksum.h"
#include "rag/index/text_tokens.h"

namespace basalt::rag {
namespace {

uint64_t Digest(std::string_view text) {
  Checksum64 checksum;
  checksum.Update(text);
  return checksum.Digest();
}

}  // namespace

size_t MemoryTextIndex::size() const {
  absl::ReaderMutexLock lock(&mutex_);
  return entries_.size();
}

absl::Status MemoryTextIndex::Add(std::span<const std::pair<Label, std::string_view>> entries) {
  absl::WriterMutexLock lock(&mutex_);
  // Checked first so that a refused batch changes nothing.
  absl::flat_hash_map<Label, uint64_t> batch;
  for (const auto& [label, text] : entries) {
    const uint64_t digest = Digest(text);
    auto it = entries_.find(label);
    auto [in_batch, fresh] = batch.emplace(label, digest);
    const bool differs = (it != entries_.end() && it->second.digest != digest) ||
                         (!fresh && in_batch->second != digest);
    if (differs) {
      return absl::FailedPreconditionError(
          StrCat("label ", label, " is already indexed with another text; remove it with ",
                 "that text first"));
    }
  }
  for (const auto& [label, text] : entries) {
    if (entries_.contains(label)) continue;
    Entry& entry = entries_[label];
    entry.digest = batch[label];
    for (std::string& term : IndexTerms(text)) {
      ++entry.length;
      ++entry.terms[std::move(term)];
    }
    for (const auto& [term, frequency] : entry.terms) postings_[term][label] = frequency;
    total_length_ += entry.length;
  }
  return absl::OkStatus();
}

absl::Status MemoryTextIndex::Remove(std::span<const std::pair<Label, std::string_view>> entries) {
  absl::WriterMutexLock lock(&mutex_);
  for (const auto& [label, text] : entries) {
    auto it = entries_.find(label);
    if (it != entries_.end() && it->second.digest != Digest(text)) {
      return absl::FailedPreconditionError(
          StrCat("label ", label, " was indexed with another text than the one given to remove ",
                 "it; nothing was removed"));
    }
  }
  for (const auto& [label, text] : entries) {
    auto it = entries_.find(label);
    if (it == entries_.end()) continue;
    for (const auto& [term, frequency] : it->second.terms) {
      auto posting = postings_.find(term);
      posting->second.erase(label);
      if (posting->second.empty()) postings_.erase(posting);
    }
    total_length_ -= it->second.length;
    entries_.erase(it);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TextHit>> MemoryTextIndex::Search(const TextQuery& query) const {
  if (query.k < 1) return absl::InvalidArgumentError(StrCat("k must be at least 1, not ", query.k));
  std::vector<std::string> terms = IndexTerms(query.text);
  if (terms.size() > kMaxQueryWords) terms.resize(kMaxQueryWords);
  constexpr double kK1 = 1.2;
  constexpr double kB = 0.75;
  absl::ReaderMutexLock lock(&mutex_);
  if (entries_.empty() || query.passing == 0) return std::vector<TextHit>();
  const double n = static_cast<double>(entries_.size());
  const double average_length = static_cast<double>(total_length_) / n;
  absl::flat_hash_map<Label, double> scores;
  for (const std::string& term : terms) {
    auto posting = postings_.find(term);
    if (posting == postings_.end()) continue;
    const double hits = static_cast<double>(posting->second.size());
    double idf = std::log((n - hits + 0.5) / (hits + 0.5));
    if (idf <= 0) idf = 1e-6;
    for (const auto& [label, frequency] : posting->second) {
      const double tf = frequency;
      const double length = entries_.find(label)->second.length;
      scores[label] +=
          idf * (tf * (kK1 + 1)) / (tf + kK1 * (1 - kB + kB * length / average_length));
    }
  }
  std::vector<TextHit> hits;
  hits.reserve(scores.size());
  for (const auto& [label, score] : scores) {
    if (query.filter == nullptr || (*query.filter)(label)) {
      hits.push_back({label, static_cast<float>(score)});
    }
  }
  auto better = [](const TextHit& a, const TextHit& b) {
    return a.score > b.score || (a.score == b.score && a.label < b.label);
  };
  const size_t k = std::min(hits.size(), static_cast<size_t>(query.k));
  std::partial_sort(hits.begin(), hits.begin() + static_cast<ptrdiff_t>(k), hits.end(), better);
  hits.resize(k);
  return hits;
}

}  // namespace basalt::rag
