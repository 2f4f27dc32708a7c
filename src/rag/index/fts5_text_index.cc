#include "rag/index/fts5_text_index.h"

#include <sqlite3.h>

#include <optional>
#include <variant>
#include <vector>

#include "core/strings.h"
#include "rag/index/checksum.h"
#include "rag/index/text_tokens.h"
#include "store/sqlite/connection.h"

namespace basalt::rag {
namespace {

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
constexpr std::string_view kVocabulary =
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunk_vocab "
    "USING fts5vocab(main, chunk_terms, instance)";
constexpr std::string_view kInstances = "SELECT term, doc FROM temp.chunk_vocab";

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

// The table's tokenizer, found through the connection's fts5_api, so the
// postings hold exactly the terms FTS5 indexes.
class Fts5TextIndex::Tokenizer {
 public:
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Find(sqlite3* db) {
    fts5_api* api = nullptr;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, nullptr) == SQLITE_OK) {
      sqlite3_bind_pointer(stmt, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
      sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (api == nullptr) return absl::InternalError("SQLite has no fts5_api (FTS5 missing)");
    auto t = std::unique_ptr<Tokenizer>(new Tokenizer());
    if (api->xFindTokenizer(api, "porter", &t->context_, &t->functions_) != SQLITE_OK) {
      return absl::InternalError("FTS5 has no porter tokenizer");
    }
    return t;
  }

  // The tokens of `text`, in order, repeats kept; `flags` FTS5_TOKENIZE_*.
  // A tokenizer instance per call: FTS5's porter keeps state in its instance.
  absl::StatusOr<std::vector<std::string>> Tokens(std::string_view text, int flags) const {
    const char* args[] = {"unicode61"};
    Fts5Tokenizer* instance = nullptr;
    if (functions_.xCreate(context_, args, 1, &instance) != SQLITE_OK) {
      return absl::InternalError("cannot create FTS5's porter tokenizer");
    }
    std::vector<std::string> tokens;
    const int rc = functions_.xTokenize(instance, &tokens, flags, text.data(),
                                        static_cast<int>(text.size()), &OnToken);
    functions_.xDelete(instance);
    if (rc != SQLITE_OK) return absl::InternalError(StrCat("FTS5 tokenizer failed: ", rc));
    return tokens;
  }

 private:
  Tokenizer() = default;
  static int OnToken(void* out, int flags, const char* token, int size, int, int) {
    if ((flags & FTS5_TOKEN_COLOCATED) == 0) {
      static_cast<std::vector<std::string>*>(out)->emplace_back(token, static_cast<size_t>(size));
    }
    return SQLITE_OK;
  }

  void* context_ = nullptr;
  fts5_tokenizer functions_{};
};

absl::StatusOr<std::unique_ptr<Fts5TextIndex>> Fts5TextIndex::Open(std::string path) {
  sqlite::Connection::Options options;
  options.synchronous_full = false;
  absl::StatusOr<std::unique_ptr<sqlite::Connection>> writer =
      sqlite::Connection::Open(path, options);
  if (!writer.ok()) return writer.status();
  if (path != ":memory:") {
    if (absl::Status s = (*writer)->Exec("PRAGMA journal_mode=WAL"); !s.ok()) return s;
  }
  if (absl::Status s = (*writer)->Exec(std::string(kSchema)); !s.ok()) {
    return absl::InternalError(
        StrCat("cannot create the FTS5 index in '", path, "': ", s.message()));
  }
  absl::StatusOr<std::string> count = (*writer)->QueryText("SELECT count(*) FROM chunk_digests");
  if (!count.ok()) return count.status();
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::Find((*writer)->handle());
  if (!tokenizer.ok()) return tokenizer.status();
  auto index = std::unique_ptr<Fts5TextIndex>(new Fts5TextIndex(
      *std::move(writer), *std::move(tokenizer), static_cast<size_t>(std::stoull(*count))));
  absl::MutexLock lock(&index->writer_mutex_);
  if (absl::Status s = index->LoadPostings(); !s.ok()) {
    return absl::InternalError(StrCat("cannot load the keyword index '", path, "': ", s.message()));
  }
  return index;
}

Fts5TextIndex::Fts5TextIndex(std::unique_ptr<sqlite::Connection> writer,
                             std::unique_ptr<Tokenizer> tokenizer, size_t size)
    : writer_(std::move(writer)), tokenizer_(std::move(tokenizer)), size_(size) {}

absl::Status Fts5TextIndex::LoadPostings() {
  if (absl::Status s = writer_->Exec(std::string(kVocabulary)); !s.ok()) return s;
  absl::StatusOr<sqlite::Statement> rows = writer_->Prepare(kInstances);
  if (!rows.ok()) return rows.status();
  std::string term;
  std::vector<std::pair<Label, uint32_t>> docs;  // of `term`, in rowid order
  while (true) {
    absl::StatusOr<bool> row = rows->Step();
    if (!row.ok()) return row.status();
    const std::string_view next = *row ? rows->ColumnText(0) : std::string_view();
    if (!*row || next != term) {
      if (!docs.empty()) postings_.LoadTerm(term, docs);
      docs.clear();
      if (!*row) break;
      term.assign(next);
    }
    const Label label = LabelOf(rows->ColumnInt(1));
    if (!docs.empty() && docs.back().first == label) {
      ++docs.back().second;
    } else {
      docs.emplace_back(label, 1);
    }
  }
  return absl::OkStatus();
}

Fts5TextIndex::~Fts5TextIndex() = default;

absl::Status Fts5TextIndex::Add(std::span<const std::pair<Label, std::string_view>> entries) {
  absl::MutexLock lock(&writer_mutex_);
  std::vector<std::pair<Label, std::vector<std::string>>> added;
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
      absl::StatusOr<std::vector<std::string>> tokens =
          tokenizer_->Tokens(text, FTS5_TOKENIZE_DOCUMENT);
      if (!tokens.ok()) return tokens.status();
      if (absl::Status s = Run(*writer_, kInsertTerms, label, text); !s.ok()) return s;
      if (absl::Status s = Run(*writer_, kInsertDigest, label, digest); !s.ok()) return s;
      added.emplace_back(label, *std::move(tokens));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  for (const auto& [label, tokens] : added) postings_.Add(label, tokens);
  size_.fetch_add(added.size(), std::memory_order_relaxed);
  return s;
}

absl::Status Fts5TextIndex::Remove(std::span<const std::pair<Label, std::string_view>> entries) {
  absl::MutexLock lock(&writer_mutex_);
  std::vector<std::pair<Label, std::vector<std::string>>> removed;
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
      absl::StatusOr<std::vector<std::string>> tokens =
          tokenizer_->Tokens(text, FTS5_TOKENIZE_DOCUMENT);
      if (!tokens.ok()) return tokens.status();
      if (absl::Status s = Run(*writer_, kDeleteTerms, label, text); !s.ok()) return s;
      if (absl::Status s = Run(*writer_, kDeleteDigest, label); !s.ok()) return s;
      removed.emplace_back(label, *std::move(tokens));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  for (const auto& [label, tokens] : removed) postings_.Remove(label, tokens);
  size_.fetch_sub(removed.size(), std::memory_order_relaxed);
  return s;
}

absl::StatusOr<std::vector<TextHit>> Fts5TextIndex::Search(const TextQuery& query) const {
  if (query.k < 1) return absl::InvalidArgumentError(StrCat("k must be at least 1, not ", query.k));
  if (query.passing == 0) return std::vector<TextHit>();
  absl::StatusOr<std::vector<std::string>> tokens =
      tokenizer_->Tokens(query.text, FTS5_TOKENIZE_QUERY);
  if (!tokens.ok()) return tokens.status();
  if (tokens->size() > kMaxQueryWords) tokens->resize(kMaxQueryWords);
  return postings_.Search(*tokens, query.k, query.filter, query.passing_labels);
}

}  // namespace basalt::rag
