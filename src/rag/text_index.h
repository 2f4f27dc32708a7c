// TextIndex: the port for keyword search (BM25) over one index generation's
// chunk texts. Adapters: index/fts5_text_index.h (SQLite FTS5, `porter
// unicode61`, contentless: the index holds terms, never the chunk text) and
// index/memory_text_index.h (the fake). The PostgreSQL scale-out adds its own.
//
// A query's words are OR-ed (any word may match) and ranked by BM25; query
// syntax is never interpreted (quotes, NEAR, column filters are plain words).
// Filters work as in VectorIndex: the result is the top k of the passing
// labels, never fewer because of a cut before the filter.
//
// Thread-safety: every method may be called from any thread (adapters lock or
// use a connection per thread). Calls do disk I/O: BlockingPool only.
//
// Errors: kInvalidArgument (k < 1), kFailedPrecondition (a label's text does
// not match what it was added with), kUnavailable (database busy past its
// timeout), kInternal (engine failure, with its message).
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "rag/types.h"
#include "rag/vector_index.h"

namespace basalt::rag {

struct TextHit {
  Label label = 0;
  float score = 0;  // BM25, higher is better
};

struct TextQuery {
  std::string_view text;
  int k = 10;
  const LabelFilter* filter = nullptr;
  size_t passing = std::numeric_limits<size_t>::max();
  std::span<const Label> passing_labels;  // as VectorQuery::passing_labels
};

class TextIndex {
 public:
  virtual ~TextIndex() = default;
  virtual size_t size() const = 0;
  // Adds the entries in one transaction. A label already present with the
  // same text is left as it is (a retried batch is harmless); with another
  // text the whole batch is refused with kFailedPrecondition, because a
  // contentless engine cannot remove terms it was not given: Remove the label
  // with its old text first.
  virtual absl::Status Add(std::span<const std::pair<Label, std::string_view>> entries) = 0;
  // Removes entries. `text` is what the label was added with (a contentless
  // engine needs it to remove the terms); another text is kFailedPrecondition
  // and removes nothing. OK when absent.
  virtual absl::Status Remove(std::span<const std::pair<Label, std::string_view>> entries) = 0;
  virtual absl::StatusOr<std::vector<TextHit>> Search(const TextQuery& query) const = 0;
};

}  // namespace basalt::rag
