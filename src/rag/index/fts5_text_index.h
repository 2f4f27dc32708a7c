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
// One writer connection behind a mutex; searches use a pool of read
// connections (WAL readers run in parallel with the writer). ":memory:" uses
// the one connection for everything (each in-memory connection would be its
// own database). Statements are prepared once per connection. WAL,
// synchronous=NORMAL: a crash loses at most the last commits, which the
// knowledge base re-indexes from its durable document records.
//
// Filtered search streams rows in rank order without a LIMIT and stops after
// k passing ones, so a filter never cuts results.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rag/text_index.h"

namespace basalt::sqlite {
class Connection;
class ConnectionPool;
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
  Fts5TextIndex(std::unique_ptr<sqlite::Connection> writer,
                std::unique_ptr<sqlite::ConnectionPool> readers, size_t size);
  absl::StatusOr<std::vector<TextHit>> SearchOn(sqlite::Connection& connection,
                                                const std::string& match,
                                                const TextQuery& query) const;

  mutable absl::Mutex writer_mutex_;
  const std::unique_ptr<sqlite::Connection> writer_ ABSL_PT_GUARDED_BY(writer_mutex_);
  const std::unique_ptr<sqlite::ConnectionPool> readers_;  // null for ":memory:"
  std::atomic<size_t> size_;
};

}  // namespace basalt::rag
