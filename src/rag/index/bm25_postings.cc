#include "rag/index/bm25_postings.h"

#include <algorithm>
#include <cmath>

namespace basalt::rag {
namespace {

// Debian's abseil has its own string_view: the key type of heterogeneous lookups.
absl::string_view Key(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr double kK1 = 1.2;
constexpr double kB = 0.75;

// Term frequencies of a token list, in first-occurrence order.
std::vector<std::pair<std::string_view, uint32_t>> Frequencies(
    std::span<const std::string> tokens) {
  absl::flat_hash_map<std::string_view, size_t> index;
  std::vector<std::pair<std::string_view, uint32_t>> out;
  for (const std::string& t : tokens) {
    auto [it, inserted] = index.try_emplace(t, out.size());
    if (inserted) {
      out.emplace_back(t, 1);
    } else {
      ++out[it->second].second;
    }
  }
  return out;
}

struct Scored {
  double score;
  uint32_t slot;
  Label label;
};

bool Better(const Scored& a, const Scored& b) {
  return a.score > b.score || (a.score == b.score && a.label < b.label);
}

}  // namespace

size_t Bm25Postings::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return slot_of_.size();
}

void Bm25Postings::Add(Label label, std::span<const std::string> tokens) {
  absl::MutexLock lock(&mu_);
  auto present = slot_of_.find(label);
  if (present != slot_of_.end()) {
    // Replaced: the old tokens are not known here, so the old slot's terms
    // are found by scanning. Rare (the adapters remove before re-adding).
    const uint32_t old = present->second;
    for (auto& [term, t] : terms_) {
      for (const Posting& p : t.postings) {
        if (p.doc == old) {
          --t.live_docs;
          break;
        }
      }
    }
    live_tokens_ -= slots_[old].length;
    slots_[old].live = false;
    slot_of_.erase(present);
  }
  const uint32_t slot = static_cast<uint32_t>(slots_.size());
  slots_.push_back(Slot{label, static_cast<uint32_t>(tokens.size()), true});
  slot_of_[label] = slot;
  live_tokens_ += tokens.size();
  for (const auto& [token, tf] : Frequencies(tokens)) {
    Term& t = terms_[Key(token)];
    t.postings.push_back(Posting{slot, tf});
    ++t.live_docs;
    ++live_postings_;
  }
}

void Bm25Postings::LoadTerm(std::string_view term,
                            std::span<const std::pair<Label, uint32_t>> docs) {
  absl::MutexLock lock(&mu_);
  Term& t = terms_[Key(term)];
  for (const auto& [label, tf] : docs) {
    auto [it, inserted] = slot_of_.try_emplace(label, static_cast<uint32_t>(slots_.size()));
    if (inserted) slots_.push_back(Slot{label, 0, true});
    slots_[it->second].length += tf;
    live_tokens_ += tf;
    t.postings.push_back(Posting{it->second, tf});
    ++t.live_docs;
    ++live_postings_;
  }
  // In slot order, as Add keeps them, so a search sweeps the scores forward.
  std::sort(t.postings.begin(), t.postings.end(),
            [](const Posting& a, const Posting& b) { return a.doc < b.doc; });
}

void Bm25Postings::Remove(Label label, std::span<const std::string> tokens) {
  absl::MutexLock lock(&mu_);
  RemoveLocked(label, tokens);
  if (dead_postings_ > 1024 && dead_postings_ > live_postings_) CompactLocked();
}

void Bm25Postings::RemoveLocked(Label label, std::span<const std::string> tokens) {
  auto it = slot_of_.find(label);
  if (it == slot_of_.end()) return;
  Slot& slot = slots_[it->second];
  for (const auto& [token, tf] : Frequencies(tokens)) {
    auto t = terms_.find(Key(token));
    if (t == terms_.end() || t->second.live_docs == 0) continue;
    --t->second.live_docs;
    --live_postings_;
    ++dead_postings_;
  }
  live_tokens_ -= slot.length;
  slot.live = false;
  slot_of_.erase(it);
}

void Bm25Postings::CompactLocked() {
  std::vector<uint32_t> remap(slots_.size(), UINT32_MAX);
  std::vector<Slot> kept;
  kept.reserve(slot_of_.size());
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].live) continue;
    remap[i] = static_cast<uint32_t>(kept.size());
    kept.push_back(slots_[i]);
  }
  for (auto it = terms_.begin(); it != terms_.end();) {
    std::vector<Posting>& postings = it->second.postings;
    size_t out = 0;
    for (const Posting& p : postings) {
      if (remap[p.doc] != UINT32_MAX) postings[out++] = Posting{remap[p.doc], p.tf};
    }
    postings.resize(out);
    postings.shrink_to_fit();
    if (postings.empty()) {
      terms_.erase(it++);
    } else {
      ++it;
    }
  }
  slots_ = std::move(kept);
  for (auto& [label, slot] : slot_of_) slot = remap[slot];
  dead_postings_ = 0;
}

std::vector<TextHit> Bm25Postings::Search(std::span<const std::string> tokens, int k,
                                          const LabelFilter* filter,
                                          std::span<const Label> passing) const {
  std::vector<TextHit> hits;
  if (k < 1) return hits;
  absl::ReaderMutexLock lock(&mu_);
  const double n = static_cast<double>(slot_of_.size());
  if (n == 0) return hits;
  const double average_length = static_cast<double>(live_tokens_) / n;
  // Multiplied, not divided, per posting: one division fewer in the loop's
  // dependency chain (a relative difference near 1e-16 from FTS5's form).
  const double inverse_length = 1.0 / average_length;
  // Per-thread scratch: a score per slot, zero between searches.
  thread_local std::vector<double> scores;
  thread_local std::vector<uint32_t> touched;
  if (scores.size() < slots_.size()) scores.resize(slots_.size(), 0.0);
  touched.clear();
  // A selective filter's passing slots, marked, so the postings of every
  // other document are skipped before any scoring (zero again on return).
  thread_local std::vector<uint8_t> marks;
  thread_local std::vector<uint32_t> marked;
  const bool restricted = !passing.empty();
  if (restricted) {
    if (marks.size() < slots_.size()) marks.resize(slots_.size(), 0);
    marked.clear();
    for (Label label : passing) {
      auto it = slot_of_.find(label);
      if (it == slot_of_.end() || marks[it->second] != 0) continue;
      marks[it->second] = 1;
      marked.push_back(it->second);
    }
  }
  for (const auto& [token, repeats] : Frequencies(tokens)) {
    auto it = terms_.find(Key(token));
    if (it == terms_.end() || it->second.live_docs == 0) continue;
    const double df = it->second.live_docs;
    double idf = std::log((n - df + 0.5) / (df + 0.5));
    if (idf <= 0) idf = 1e-6;
    const double weight = idf * repeats;
    // Plain pointers: the thread_local vectors would otherwise be looked up
    // through the TLS block on every posting.
    double* const score_of = scores.data();
    const uint8_t* const mark_of = restricted ? marks.data() : nullptr;
    const Slot* const slot_of = slots_.data();
    // In blocks: gather the live postings, compute their contributions in a
    // loop with no dependencies between iterations (its divisions pipeline
    // and vectorise), then add them up. One loop doing all three waited on
    // each division in turn.
    constexpr size_t kBlock = 256;
    uint32_t docs[kBlock];
    double tfs[kBlock], lengths[kBlock], parts[kBlock];
    const std::vector<Posting>& postings = it->second.postings;
    for (size_t at = 0; at < postings.size();) {
      size_t m = 0;
      for (; at < postings.size() && m < kBlock; ++at) {
        const Posting& p = postings[at];
        if (mark_of != nullptr && mark_of[p.doc] == 0) continue;
        const Slot& slot = slot_of[p.doc];
        if (!slot.live) continue;
        docs[m] = p.doc;
        tfs[m] = p.tf;
        lengths[m] = slot.length;
        ++m;
      }
      for (size_t i = 0; i < m; ++i) {
        const double norm = kK1 * (1 - kB + kB * lengths[i] * inverse_length);
        parts[i] = weight * (tfs[i] * (kK1 + 1)) / (tfs[i] + norm);
      }
      for (size_t i = 0; i < m; ++i) {
        double& score = score_of[docs[i]];
        if (score == 0) touched.push_back(docs[i]);
        score += parts[i];
      }
    }
  }
  for (uint32_t slot : marked) marks[slot] = 0;
  marked.clear();
  // The best `batch` of the touched documents through a bounded heap (most
  // are turned away by one score comparison), best first; then, while fewer
  // than k of those pass the filter, every touched document ranked in
  // growing batches after them. Scores are zeroed at the end.
  const size_t want = static_cast<size_t>(k);
  const size_t batch = std::max<size_t>(want * 4, 64);
  std::vector<Scored> best;
  best.reserve(std::min(batch, touched.size()));
  for (uint32_t slot : touched) {
    const double score = scores[slot];
    if (best.size() == batch && !(score >= best.front().score)) continue;  // cannot enter
    const Scored candidate{score, slot, slots_[slot].label};
    if (best.size() < batch) {
      best.push_back(candidate);
      std::push_heap(best.begin(), best.end(), Better);  // front: the worst kept
    } else if (Better(candidate, best.front())) {
      std::pop_heap(best.begin(), best.end(), Better);
      best.back() = candidate;
      std::push_heap(best.begin(), best.end(), Better);
    }
  }
  std::sort_heap(best.begin(), best.end(), Better);
  for (size_t i = 0; i < best.size() && hits.size() < want; ++i) {
    if (filter != nullptr && !(*filter)(best[i].label)) continue;
    hits.push_back(TextHit{best[i].label, static_cast<float>(best[i].score)});
  }
  if (hits.size() < want && touched.size() > best.size()) {
    std::vector<Scored> ranked;
    ranked.reserve(touched.size());
    for (uint32_t slot : touched) ranked.push_back(Scored{scores[slot], slot, slots_[slot].label});
    // The first best.size() of this ranking are exactly `best`: go on after them.
    size_t step = batch * 2;
    for (size_t begin = best.size(); begin < ranked.size() && hits.size() < want;
         begin += step, step *= 2) {
      const size_t end = std::min(ranked.size(), begin + step);
      if (begin == best.size()) {
        std::nth_element(ranked.begin(), ranked.begin() + begin, ranked.end(), Better);
      }
      std::partial_sort(ranked.begin() + begin, ranked.begin() + end, ranked.end(), Better);
      for (size_t i = begin; i < end && hits.size() < want; ++i) {
        if (filter != nullptr && !(*filter)(ranked[i].label)) continue;
        hits.push_back(TextHit{ranked[i].label, static_cast<float>(ranked[i].score)});
      }
    }
  }
  for (uint32_t slot : touched) scores[slot] = 0;
  return hits;
}

}  // namespace basalt::rag
