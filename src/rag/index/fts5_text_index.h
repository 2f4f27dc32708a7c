// Fts5TextIndex: TextIndex on an SQLite FTS5 table, `porter unicode61`,
// ranked by FTS5's own bm25() (k1 = 1.2, b = 0.75), so its scores are those of
// a plain FTS5 table over the same texts and the same OR-ed query.
//
// Contentless (content=''): the database holds terms and positions, never the
// chunk text. FTS5 can remove a contentless row only when given the text it
// was added with, so a side table keeps a 64-bit digest of each label's text:
// Remove checks it (a wrong text would corrupt the index: kFailedPrecondition
// instead), and Add of a label already present is a no-op for the same text
// and kFailedPrecondition for another (Remove it with its old text first).
//
// One writer connection behind a mutex (searches need no connection). WAL,
// synchronous=NORMAL: a crash loses at most the last commits, which the
// knowledge base re-indexes from its durable document records.
//
// Searches are answered from memory (bm25_postings.h), not by an FTS5 MATCH
// query: FTS5 computes bm25() for every row holding any OR-ed word, which with
// common words is nearly every row (10 ms at 5k chunks, linear in the
// chunks). The postings hold exactly FTS5's tokens: documents and queries go
// through the table's own tokenizer (fts5_api's `porter unicode61`), and Open
// loads the postings from the FTS5 index itself (an fts5vocab 'instance'
// scan), so the scores are bm25()'s, up to float rounding (tested against
// bm25() in text_index_contract_test.cc). A query word that the tokenizer
// splits into several tokens counts as those tokens, not as a phrase. The
// cost: memory for the postings (about 8 bytes per distinct term per chunk),
// and loading them when the index opens.
//
// Filters: the top k of the passing labels (the scored documents are walked
// best first until k pass), so a filter never cuts results.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rag/index/bm25_postings.h"
#include "rag/text_index.h"

namespace basalt::sqlite {
class Connection;
}  // namespace basalt::sqlite

namespace basalt::rag {

class Fts5TextIndex final : public TextIndex {
 public:
  // Opens (creating when missing) the index database at `path`; ":memory:"
  // for a private in-memory one. kUnavailable when the file cannot be opened;
  // kInternal when SQLite lacks FTS5 or the schema cannot be created.
  static absl::StatusOr<std::unique_ptr<Fts5TextIndex>> Open(std::string path);
  ~Fts5TextIndex() override;

  size_t size() const override { return size_.load(std::memory_order_relaxed); }
  absl::Status Add(std::span<const std::pair<Label, std::string_view>> entries) override;
  absl::Status Remove(std::span<const std::pair<Label, std::string_view>> entries) override;
  absl::StatusOr<std::vector<TextHit>> Search(const TextQuery& query) const override;

 private:
  class Tokenizer;

  Fts5TextIndex(std::unique_ptr<sqlite::Connection> writer, std::unique_ptr<Tokenizer> tokenizer,
                size_t size);
  absl::Status LoadPostings() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mutex_);

  mutable absl::Mutex writer_mutex_;
  const std::unique_ptr<sqlite::Connection> writer_ ABSL_PT_GUARDED_BY(writer_mutex_);
  const std::unique_ptr<Tokenizer> tokenizer_;  // FTS5's, from writer_'s fts5_api
  Bm25Postings postings_;
  std::atomic<size_t> size_;
};

}  // namespace basalt::rag
