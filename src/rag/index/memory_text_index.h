// MemoryTextIndex: the TextIndex fake, an in-memory inverted index with the
// tokenizer and stemmer of text_tokens.h and FTS5's BM25 formula (k1 = 1.2,
// b = 0.75; idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6; each query
// word counted once per occurrence), so on ASCII text it ranks as
// Fts5TextIndex does. It follows the same contract as that adapter, digest
// checks included: Add of a present label is a no-op for the same text and
// kFailedPrecondition for another; Remove with another text is
// kFailedPrecondition. A batch is applied whole or not at all.
//
// Thread-safety: as the port; a reader-writer lock.
#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "rag/text_index.h"

namespace basalt::rag {

class MemoryTextIndex final : public TextIndex {
 public:
  MemoryTextIndex() = default;

  size_t size() const override;
  absl::Status Add(std::span<const std::pair<Label, std::string_view>> entries) override;
  absl::Status Remove(std::span<const std::pair<Label, std::string_view>> entries) override;
  absl::StatusOr<std::vector<TextHit>> Search(const TextQuery& query) const override;

 private:
  struct Entry {
    uint64_t digest = 0;
    uint32_t length = 0;                               // terms
    absl::flat_hash_map<std::string, uint32_t> terms;  // term -> frequency
  };

  mutable absl::Mutex mutex_;
  absl::flat_hash_map<Label, Entry> entries_ ABSL_GUARDED_BY(mutex_);
  // term -> label -> frequency
  absl::flat_hash_map<std::string, absl::flat_hash_map<Label, uint32_t>> postings_
      ABSL_GUARDED_BY(mutex_);
  uint64_t total_length_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace basalt::rag
