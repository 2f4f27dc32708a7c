#include "rag/index/fts5_text_index.h"

#include <optional>
#include <variant>
#include <vector>

#include "core/strings.h"
#include "rag/index/checksum.h"
#include "rag/index/text_tokens.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/connection_pool.h"

namespace basalt::rag {
namespace {

constexpr int kReaders = 4;

constexpr std::string_view kSchema =
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5("
    "text, content='', tokenize='porter unicode61');"
    "CREATE TABLE IF NOT EXISTS chunk_digests("
    "label INTEGER PRIMARY KEY, digest INTEGER NOT NULL);";
constexpr std::string_view kSelectDigest = "SELECT digest FROM chunk_digests WHERE label = ?1";
constexpr std::string_view kInsertTerms = "INSERT INTO chunk_terms(rowid, text) VALUES(?1, ?2)";
constexpr std::string_view kInsertDigest =
    "INSERT INTO chunk_digests(label, digest) VALUES(?1, ?2)";
constexpr std::string_view kDeleteTerms =
    "INSERT INTO chunk_terms(chunk_terms, rowid, text) VALUES('delete', ?1, ?2)";
constexpr std::string_view kDeleteDigest = "DELETE FROM chunk_digests WHERE label = ?1";
constexpr std::string_view kSearch =
    "SELECT rowid, rank FROM chunk_terms WHERE chunk_terms MATCH ?1 ORDER BY rank LIMIT ?2";
constexpr std::string_view kSearchAll =
    "SELECT rowid, rank FROM chunk_terms WHERE chunk_terms MATCH ?1 ORDER BY rank";

// SQLite rowids are signed 64-bit: labels map onto them bit for bit.
int64_t RowId(Label label) { return static_cast<int64_t>(label); }
Label LabelOf(int64_t rowid) { return static_cast<Label>(rowid); }

int64_t Digest(std::string_view text) {
  Checksum64 checksum;
  checksum.Update(text);
  return static_cast<int64_t>(checksum.Digest());
}

// The digest stored for `label`, or nullopt when it is not indexed.
absl::StatusOr<std::optional<int64_t>> StoredDigest(sqlite::Connection& db, Label label) {
  absl::StatusOr<sqlite::Statement> select = db.Prepare(kSelectDigest);
  if (!select.ok()) return select.status();
  if (absl::Status s = select->BindInt(1, RowId(label)); !s.ok()) return s;
  absl::StatusOr<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<int64_t>();
  return std::optional<int64_t>(select->ColumnInt(0));
}

// Runs `sql` with the label bound to ?1 and, when given, `second` to ?2.
absl::Status Run(sqlite::Connection& db, std::string_view sql, Label label,
                 std::optional<std::variant<std::string_view, int64_t>> second = std::nullopt) {
  absl::StatusOr<sqlite::Statement> stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = stmt->BindInt(1, RowId(label)); !s.ok()) return s;
  if (second.has_value()) {
    absl::Status s = std::holds_alternative<int64_t>(*second)
                         ? stmt->BindInt(2, std::get<int64_t>(*second))
                         : stmt->BindText(2, std::get<std::string_view>(*second));
    if (!s.ok()) return s;
  }
  return stmt->Run();
}

// Runs `body` in an IMMEDIATE transaction, committed when it succeeds.
template <class Body>
absl::Status InTransaction(sqlite::Connection& db, Body body) {
  if (absl::Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status s = body();
  if (s.ok()) s = db.Exec("COMMIT");
  if (!s.ok()) db.RollbackIfOpen();
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Fts5TextIndex>> Fts5TextIndex::Open(std::string path) {
  sqlite::Connection::Options options;
  options.synchronous_full = false;
  absl::StatusOr<std::unique_ptr<sqlite::Connection>> writer =
      sqlite::Connection::Open(path, options);
  if (!writer.ok()) return writer.status();
  const bool in_memory = path == ":memory:";
  if (!in_memory) {
    if (absl::Status s = (*writer)->Exec("PRAGMA journal_mode=WAL"); !s.ok()) return s;
  }
  if (absl::Status s = (*writer)->Exec(std::string(kSchema)); !s.ok()) {
    return absl::InternalError(
        StrCat("cannot create the FTS5 index in '", path, "': ", s.message()));
  }
  absl::StatusOr<std::string> count = (*writer)->QueryText("SELECT count(*) FROM chunk_digests");
  if (!count.ok()) return count.status();
  std::unique_ptr<sqlite::ConnectionPool> readers;
  if (!in_memory) {
    std::vector<std::unique_ptr<sqlite::Connection>> connections;
    for (int i = 0; i < kReaders; ++i) {
      absl::StatusOr<std::unique_ptr<sqlite::Connection>> reader =
          sqlite::Connection::Open(path, options);
      if (!reader.ok()) return reader.status();
      if (absl::Status s = (*reader)->Exec("PRAGMA query_only=ON"); !s.ok()) return s;
      connections.push_back(*std::move(reader));
    }
    readers = std::make_unique<sqlite::ConnectionPool>(std::move(connections), absl::Seconds(5));
  }
  return std::unique_ptr<Fts5TextIndex>(new Fts5TextIndex(
      *std::move(writer), std::move(readers), static_cast<size_t>(std::stoull(*count))));
}

Fts5TextIndex::Fts5TextIndex(std::unique_ptr<sqlite::Connection> writer,
                             std::unique_ptr<sqlite::ConnectionPool> readers, size_t size)
    : writer_(std::move(writer)), readers_(std::move(readers)), size_(size) {}

Fts5TextIndex::~Fts5TextIndex() = default;

absl::Status Fts5TextIndex::Add(std::span<const std::pair<Label, std::string_view>> entries) {
  absl::MutexLock lock(&writer_mutex_);
  size_t added = 0;
  absl::Status s = InTransaction(*writer_, [&]() -> absl::Status {
    for (const auto& [label, text] : entries) {
      const int64_t digest = Digest(text);
      absl::StatusOr<std::optional<int64_t>> stored = StoredDigest(*writer_, label);
      if (!stored.ok()) return stored.status();
      if (stored->has_value()) {
        if (**stored == digest) continue;
        return absl::FailedPreconditionError(
            StrCat("label ", label, " is already indexed with another text; remove it with ",
                   "that text first"));
      }
      if (absl::Status s = Run(*writer_, kInsertTerms, label, text); !s.ok()) return s;
      if (absl::Status s = Run(*writer_, kInsertDigest, label, digest); !s.ok()) return s;
      ++added;
    }
    return absl::OkStatus();
  });
  if (s.ok()) size_.fetch_add(added, std::memory_order_relaxed);
  return s;
}

absl::Status Fts5TextIndex::Remove(std::span<const std::pair<Label, std::string_view>> entries) {
  absl::MutexLock lock(&writer_mutex_);
  size_t removed = 0;
  absl::Status s = InTransaction(*writer_, [&]() -> absl::Status {
    for (const auto& [label, text] : entries) {
      absl::StatusOr<std::optional<int64_t>> stored = StoredDigest(*writer_, label);
      if (!stored.ok()) return stored.status();
      if (!stored->has_value()) continue;
      if (**stored != Digest(text)) {
        return absl::FailedPreconditionError(
            StrCat("label ", label, " was indexed with another text than the one given to remove ",
                   "it; nothing was removed"));
      }
      if (absl::Status s = Run(*writer_, kDeleteTerms, label, text); !s.ok()) return s;
      if (absl::Status s = Run(*writer_, kDeleteDigest, label); !s.ok()) return s;
      ++removed;
    }
    return absl::OkStatus();
  });
  if (s.ok()) size_.fetch_sub(removed, std::memory_order_relaxed);
  return s;
}

absl::StatusOr<std::vector<TextHit>> Fts5TextIndex::Search(const TextQuery& query) const {
  if (query.k < 1) return absl::InvalidArgumentError(StrCat("k must be at least 1, not ", query.k));
  const std::string match = MatchExpression(query.text);
  if (match.empty() || query.passing == 0) return std::vector<TextHit>();
  if (readers_ == nullptr) {
    absl::MutexLock lock(&writer_mutex_);
    return SearchOn(*writer_, match, query);
  }
  absl::StatusOr<sqlite::ConnectionPool::Lease> reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  return SearchOn(**reader, match, query);
}

absl::StatusOr<std::vector<TextHit>> Fts5TextIndex::SearchOn(sqlite::Connection& connection,
                                                             const std::string& match,
                                                             const TextQuery& query) const {
  const bool filtered = query.filter != nullptr;
  absl::StatusOr<sqlite::Statement> stmt = connection.Prepare(filtered ? kSearchAll : kSearch);
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = stmt->BindText(1, match); !s.ok()) return s;
  if (!filtered) {
    if (absl::Status s = stmt->BindInt(2, query.k); !s.ok()) return s;
  }
  std::vector<TextHit> hits;
  while (hits.size() < static_cast<size_t>(query.k)) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const Label label = LabelOf(stmt->ColumnInt(0));
    if (filtered && !(*query.filter)(label)) continue;
    hits.push_back({label, static_cast<float>(-stmt->ColumnDouble(1))});
  }
  return hits;
}

}  // namespace basalt::rag
