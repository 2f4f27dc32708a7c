// Bm25Postings: an in-memory inverted index that ranks exactly as FTS5's
// bm25() does over the same tokens: k1 = 1.2, b = 0.75,
//   idf(t) = ln((N - n(t) + 0.5) / (n(t) + 0.5)), at least 1e-6,
//   score(d) = sum over query tokens t of
//              idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl)),
// N the live documents, n(t) those holding t, |d| the document's tokens and
// avgdl their mean, all in double. A query token given twice counts twice, as
// FTS5 counts a repeated phrase.
//
// Why it exists: an OR query makes FTS5 compute bm25() for every row that holds
// any query token; with common words in the query that is nearly every row
// (about 10 ms at 5k chunks, growing linearly). Here a search touches only the
// postings of the query's tokens and adds into a score array, and the top k
// are selected over the touched documents.
//
// Documents are labels with their token lists (repeats included), as the
// caller's tokenizer produced them. Remove needs the same tokens (it decrements
// the document frequencies); postings of removed documents stay until they
// outnumber the live ones, then the postings are compacted.
//
// Thread-safety: Search may run concurrently with itself; Add and Remove take
// the lock exclusively.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "rag/text_index.h"

namespace basalt::rag {

class Bm25Postings {
 public:
  // Adds `label` with its tokens. A label already present is replaced.
  void Add(Label label, std::span<const std::string> tokens);
  // Removes `label`; `tokens` are what it was added with. Absent: a no-op.
  void Remove(Label label, std::span<const std::string> tokens);
  // The best `k` of the documents holding any of `tokens` and passing
  // `filter` (null: all), best first, ties by the smaller label. With
  // `passing` (every label that passes the filter; TextQuery::passing_labels),
  // only their postings are scored.
  std::vector<TextHit> Search(std::span<const std::string> tokens, int k,
                              const LabelFilter* filter,
                              std::span<const Label> passing = {}) const;

  // Bulk loading, for an index that opens: one call per term with every
  // (label, tf) holding it; a document's length is the sum of its tf. Only on
  // an index no Add or Remove has touched.
  void LoadTerm(std::string_view term, std::span<const std::pair<Label, uint32_t>> docs);

  size_t size() const;

 private:
  struct Posting {
    uint32_t doc;  // slot
    uint32_t tf;
  };
  struct Slot {
    Label label = 0;
    uint32_t length = 0;  // tokens
    bool live = false;
  };
  struct Term {
    uint32_t live_docs = 0;  // n(t)
    std::vector<Posting> postings;
  };

  void RemoveLocked(Label label, std::span<const std::string> tokens)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Term> terms_ ABSL_GUARDED_BY(mu_);
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Label, uint32_t> slot_of_ ABSL_GUARDED_BY(mu_);
  uint64_t live_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t live_postings_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dead_postings_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace basalt::rag
