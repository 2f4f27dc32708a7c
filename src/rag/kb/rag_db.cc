#include "rag/kb/rag_db.h"

#include <chrono>
#include <cstring>

#include "absl/synchronization/mutex.h"
#include "core/ids.h"
#include "core/strings.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/connection_pool.h"

namespace basalt::rag {
namespace {

// While alive, commits on `db` are not fsync'd (synchronous=NORMAL); the next
// synced commit covers them, since WAL frames reach the disk in order.
class Unsynced {
 public:
  Unsynced(sqlite::Connection& db, bool active) : db_(active ? &db : nullptr) {
    if (db_ != nullptr) (void)db_->Exec("PRAGMA synchronous=NORMAL");
  }
  ~Unsynced() {
    if (db_ != nullptr) (void)db_->Exec("PRAGMA synchronous=FULL");
  }
  Unsynced(const Unsynced&) = delete;
  Unsynced& operator=(const Unsynced&) = delete;

 private:
  sqlite::Connection* db_;
};

using sqlite::Connection;
using sqlite::Statement;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS documents (
  tenant TEXT NOT NULL, kb TEXT NOT NULL, doc_id TEXT NOT NULL,
  data_source TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
  content_hash TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 0,
  mime TEXT NOT NULL DEFAULT '', source_uri TEXT NOT NULL DEFAULT '',
  attributes TEXT NOT NULL DEFAULT '', extracted TEXT NOT NULL DEFAULT '',
  info TEXT NOT NULL DEFAULT '{}',
  staged TEXT, staged_hash TEXT NOT NULL DEFAULT '', staged_mime TEXT NOT NULL DEFAULT '',
  staged_uri TEXT NOT NULL DEFAULT '', staged_attributes TEXT NOT NULL DEFAULT '',
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, kb, doc_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (
  label INTEGER PRIMARY KEY, tenant TEXT NOT NULL, kb TEXT NOT NULL, gen INTEGER NOT NULL,
  doc_id TEXT NOT NULL, doc_version INTEGER NOT NULL, ordinal INTEGER NOT NULL,
  parent INTEGER NOT NULL, searchable INTEGER NOT NULL, span_begin INTEGER NOT NULL,
  span_end INTEGER NOT NULL, page_first INTEGER NOT NULL, page_last INTEGER NOT NULL,
  text TEXT NOT NULL, vector BLOB);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (tenant, kb, gen, doc_id);
CREATE TABLE IF NOT EXISTS ingestion_jobs (
  tenant TEXT NOT NULL, kb TEXT NOT NULL, id TEXT NOT NULL, data_source TEXT NOT NULL,
  body TEXT NOT NULL, PRIMARY KEY (tenant, kb, id)) WITHOUT ROWID;
)sql";

std::string DocRow(std::string_view kb, std::string_view doc) { return StrCat(kb, "/", doc); }

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

nlohmann::json AttributesToJson(const Attributes& attributes) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : attributes) {
    std::visit([&](const auto& v) { out[key] = v; }, value);
  }
  return out;
}

absl::StatusOr<Attributes> AttributesFromJson(const nlohmann::json& json, std::string_view field) {
  Attributes out;
  if (json.is_null()) return out;
  if (!json.is_object()) return absl::InvalidArgumentError(StrCat(field, ": must be an object"));
  for (const auto& [key, value] : json.items()) {
    if (key.empty() || key.size() > 100) {
      return absl::InvalidArgumentError(StrCat(field, ": keys must be 1..100 characters"));
    }
    if (value.is_string()) {
      out[key] = value.get<std::string>();
    } else if (value.is_boolean()) {
      out[key] = value.get<bool>();
    } else if (value.is_number()) {
      out[key] = value.get<double>();
    } else if (value.is_array()) {
      std::vector<std::string> list;
      for (const auto& item : value) {
        if (!item.is_string()) {
          return absl::InvalidArgumentError(
              StrCat(field, ".", key, ": a list attribute holds strings only"));
        }
        list.push_back(item.get<std::string>());
      }
      out[key] = std::move(list);
    } else {
      return absl::InvalidArgumentError(
          StrCat(field, ".", key, ": must be a string, number, boolean or list of strings"));
    }
  }
  return out;
}

struct RagDb::Impl {
  std::unique_ptr<Connection> writer ABSL_GUARDED_BY(write_mu);
  absl::Mutex write_mu;
  std::unique_ptr<sqlite::ConnectionPool> readers;
  const tenancy::FieldCipher* cipher = nullptr;

  absl::StatusOr<std::string> Seal(std::string_view tenant, std::string_view table,
                                   std::string_view row, std::string_view field,
                                   std::string_view plain) const {
    if (cipher == nullptr || plain.empty()) return std::string(plain);
    return cipher->Seal(tenant, table, row, field, plain);
  }
  absl::StatusOr<std::string> Open(std::string_view tenant, std::string_view table,
                                   std::string_view row, std::string_view field,
                                   std::string_view stored) const {
    if (cipher == nullptr) return std::string(stored);
    return cipher->Open(tenant, table, row, field, stored);
  }
  absl::StatusOr<Attributes> OpenAttributes(std::string_view tenant, std::string_view row,
                                            std::string_view field,
                                            std::string_view stored) const {
    if (stored.empty()) return Attributes{};
    absl::StatusOr<std::string> plain = Open(tenant, "rag_documents", row, field, stored);
    if (!plain.ok()) return plain.status();
    nlohmann::json j = nlohmann::json::parse(*plain, nullptr, false);
    if (j.is_discarded()) return absl::DataLossError("stored attributes are not JSON");
    return AttributesFromJson(j, "attributes");
  }
};

RagDb::RagDb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RagDb::~RagDb() = default;

absl::StatusOr<std::unique_ptr<RagDb>> RagDb::Open(const std::string& path,
                                                   const tenancy::FieldCipher* cipher) {
  auto impl = std::make_unique<Impl>();
  impl->cipher = cipher;
  Connection::Options options;
  absl::StatusOr<std::unique_ptr<Connection>> writer = Connection::Open(path, options);
  if (!writer.ok()) return writer.status();
  if (absl::Status s = (*writer)->Exec("PRAGMA journal_mode=WAL;"); !s.ok()) return s;
  if (absl::Status s = (*writer)->Exec(kSchema); !s.ok()) return s;
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<std::unique_ptr<Connection>> reader = Connection::Open(path, options);
    if (!reader.ok()) return reader.status();
    readers.push_back(*std::move(reader));
  }
  impl->readers =
      std::make_unique<sqlite::ConnectionPool>(std::move(readers), absl::Seconds(10));
  {
    absl::MutexLock lock(&impl->write_mu);
    impl->writer = *std::move(writer);
  }
  return std::unique_ptr<RagDb>(new RagDb(std::move(impl)));
}

namespace {

constexpr char kDocColumns[] =
    "data_source, doc_id, status, reason, content_hash, version, mime, source_uri, info, "
    "updated_ms, staged IS NOT NULL";

DocumentState ReadState(const Statement& st, std::string_view kb) {
  DocumentState s;
  s.kb = std::string(kb);
  s.data_source = std::string(st.ColumnText(0));
  s.id = std::string(st.ColumnText(1));
  s.status = std::string(st.ColumnText(2));
  s.reason = std::string(st.ColumnText(3));
  s.content_hash = std::string(st.ColumnText(4));
  s.version = st.ColumnInt(5);
  s.mime = std::string(st.ColumnText(6));
  s.source_uri = std::string(st.ColumnText(7));
  nlohmann::json info = nlohmann::json::parse(st.ColumnText(8), nullptr, false);
  if (info.is_object()) {
    s.extractor = info.value("extractor", "");
    s.pages = info.value("pages", 0);
    s.ocr_pages = info.value("ocr_pages", 0);
    s.chunks = info.value("chunks", 0);
  }
  s.updated_ms = st.ColumnInt(9);
  return s;
}

}  // namespace

absl::StatusOr<std::optional<DocumentRow>> RagDb::GetDocument(std::string_view tenant,
                                                              std::string_view kb,
                                                              std::string_view doc_id) {
  absl::StatusOr<sqlite::ConnectionPool::Lease> conn = impl_->readers->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> st = (*conn)->Prepare(StrCat(
      "SELECT ", kDocColumns,
      ", attributes, extracted FROM documents WHERE tenant=? AND kb=? AND doc_id=?"));
  if (!st.ok()) return st.status();
  if (absl::Status s = st->BindText(1, tenant); !s.ok()) return s;
  if (absl::Status s = st->BindText(2, kb); !s.ok()) return s;
  if (absl::Status s = st->BindText(3, doc_id); !s.ok()) return s;
  absl::StatusOr<bool> row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  DocumentRow out;
  out.state = ReadState(*st, kb);
  out.has_pending = st->ColumnInt(10) != 0;
  std::string rid = DocRow(kb, doc_id);
  absl::StatusOr<Attributes> attrs =
      impl_->OpenAttributes(tenant, rid, "attributes", st->ColumnText(11));
  if (!attrs.ok()) return attrs.status();
  out.attributes = *std::move(attrs);
  absl::StatusOr<std::string> extracted =
      impl_->Open(tenant, "rag_documents", rid, "extracted", st->ColumnText(12));
  if (!extracted.ok()) return extracted.status();
  out.extracted_json = *std::move(extracted);
  return out;
}

absl::StatusOr<std::vector<DocumentState>> RagDb::ListDocuments(std::string_view tenant,
                                                                std::string_view kb,
                                                                std::string_view data_source,
                                                                std::string_view after,
                                                                int limit) {
  absl::StatusOr<sqlite::ConnectionPool::Lease> conn = impl_->readers->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> st = (*conn)->Prepare(
      StrCat("SELECT ", kDocColumns,
             " FROM documents WHERE tenant=? AND kb=? AND (?='' OR data_source=?) AND doc_id>? "
             "ORDER BY doc_id LIMIT ?"));
  if (!st.ok()) return st.status();
  for (absl::Status s : {st->BindText(1, tenant), st->BindText(2, kb),
                         st->BindText(3, data_source), st->BindText(4, data_source),
                         st->BindText(5, after), st->BindInt(6, limit)}) {
    if (!s.ok()) return s;
  }
  std::vector<DocumentState> out;
  while (true) {
    absl::StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(ReadState(*st, kb));
  }
  return out;
}

absl::StatusOr<std::vector<DocumentRow>> RagDb::LiveDocuments(std::string_view tenant,
                                                              std::string_view kb) {
  absl::StatusOr<sqlite::ConnectionPool::Lease> conn = impl_->readers->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> st = (*conn)->Prepare(
      StrCat("SELECT ", kDocColumns,
             ", attributes FROM documents WHERE tenant=? AND kb=? AND version>0 "
             "AND status!='DELETING' ORDER BY doc_id"));
  if (!st.ok()) return st.status();
  if (absl::Status s = st->BindText(1, tenant); !s.ok()) return s;
  if (absl::Status s = st->BindText(2, kb); !s.ok()) return s;
  std::vector<DocumentRow> out;
  while (true) {
    absl::StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    DocumentRow doc;
    doc.state = ReadState(*st, kb);
    doc.has_pending = st->ColumnInt(10) != 0;
    absl::StatusOr<Attributes> attrs = impl_->OpenAttributes(
        tenant, DocRow(kb, doc.state.id), "attributes", st->ColumnText(11));
    if (!attrs.ok()) return attrs.status();
    doc.attributes = *std::move(attrs);
    out.push_back(std::move(doc));
  }
  return out;
}

absl::Status RagDb::Stage(std::string_view tenant, std::string_view kb,
                          std::string_view data_source, std::string_view doc_id,
                          const StagedContent& staged) {
  StageRequest one{std::string(data_source), std::string(doc_id), staged};
  return StageAll(tenant, kb, std::span<const StageRequest>(&one, 1));
}

absl::Status RagDb::StageAll(std::string_view tenant, std::string_view kb,
                             std::span<const StageRequest> requests) {
  // Sealed before the write lock is taken.
  std::vector<std::pair<std::string, std::string>> sealed;
  for (const StageRequest& r : requests) {
    std::string rid = DocRow(kb, r.doc_id);
    absl::StatusOr<std::string> content =
        impl_->Seal(tenant, "rag_documents", rid, "staged", r.staged.content);
    if (!content.ok()) return content.status();
    absl::StatusOr<std::string> attrs = impl_->Seal(tenant, "rag_documents", rid,
                                                    "staged_attributes",
                                                    AttributesToJson(r.staged.attributes).dump());
    if (!attrs.ok()) return attrs.status();
    sealed.emplace_back(*std::move(content), *std::move(attrs));
  }
  absl::MutexLock lock(&impl_->write_mu);
  Connection& db = *impl_->writer;
  if (absl::Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  auto body = [&]() -> absl::Status {
    const int64_t now = NowMillis();
    for (size_t i = 0; i < requests.size(); ++i) {
      const StageRequest& r = requests[i];
      absl::StatusOr<Statement> st = db.Prepare(
          "INSERT INTO documents (tenant, kb, doc_id, data_source, status, staged, staged_hash, "
          "staged_mime, staged_uri, staged_attributes, updated_ms) VALUES "
          "(?,?,?,?,'PENDING',?,?,?,?,?,?) "
          "ON CONFLICT (tenant, kb, doc_id) DO UPDATE SET data_source=excluded.data_source, "
          "status='PENDING', reason='', staged=excluded.staged, staged_hash=excluded.staged_hash, "
          "staged_mime=excluded.staged_mime, staged_uri=excluded.staged_uri, "
          "staged_attributes=excluded.staged_attributes, updated_ms=excluded.updated_ms");
      if (!st.ok()) return st.status();
      for (absl::Status s :
           {st->BindText(1, tenant), st->BindText(2, kb), st->BindText(3, r.doc_id),
            st->BindText(4, r.data_source), st->BindText(5, sealed[i].first),
            st->BindText(6, r.staged.content_hash), st->BindText(7, r.staged.mime),
            st->BindText(8, r.staged.source_uri), st->BindText(9, sealed[i].second),
            st->BindInt(10, now)}) {
        if (!s.ok()) return s;
      }
      if (absl::Status s = st->Run(); !s.ok()) return s;
    }
    return db.Exec("COMMIT");
  };
  absl::Status s = body();
  if (!s.ok()) db.RollbackIfOpen();
  return s;
}

absl::StatusOr<std::optional<StagedContent>> RagDb::Staged(std::string_view tenant,
                                                           std::string_view kb,
                                                           std::string_view doc_id) {
  absl::StatusOr<sqlite::ConnectionPool::Lease> conn = impl_->readers->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> st = (*conn)->Prepare(
      "SELECT staged, staged_hash, staged_mime, staged_uri, staged_attributes FROM documents "
      "WHERE tenant=? AND kb=? AND doc_id=? AND staged IS NOT NULL");
  if (!st.ok()) return st.status();
  if (absl::Status s = st->BindText(1, tenant); !s.ok()) return s;
  if (absl::Status s = st->BindText(2, kb); !s.ok()) return s;
  if (absl::Status s = st->BindText(3, doc_id); !s.ok()) return s;
  absl::StatusOr<bool> row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  std::string rid = DocRow(kb, doc_id);
  StagedContent out;
  absl::StatusOr<std::string> content =
      impl_->Open(tenant, "rag_documents", rid, "staged", st->ColumnText(0));
  if (!content.ok()) return content.status();
  out.content = *std::move(content);
  out.content_hash = std::string(st->ColumnText(1));
  out.mime = std::string(st->ColumnText(2));
  out.source_uri = std::string(st->ColumnText(3));
  absl::StatusOr<Attributes> attrs =
      impl_->OpenAttributes(tenant, rid, "staged_attributes", st->ColumnText(4));
  if (!attrs.ok()) return attrs.status();
  out.attributes = *std::move(attrs);
  return out;
}

absl::Status RagDb::SetStatus(std::string_view tenant, std::string_view kb,
                              std::string_view doc_id, std::string_view status,
                              std::string_view reason, bool synced) {
  absl::MutexLock lock(&impl_->write_mu);
  Unsynced unsynced(*impl_->writer, !synced);
  absl::StatusOr<Statement> st = impl_->writer->Prepare(
      "UPDATE documents SET status=?, reason=?, updated_ms=? WHERE tenant=? AND kb=? AND doc_id=?");
  if (!st.ok()) return st.status();
  for (absl::Status s : {st->BindText(1, status), st->BindText(2, reason),
                         st->BindInt(3, NowMillis()), st->BindText(4, tenant),
                         st->BindText(5, kb), st->BindText(6, doc_id)}) {
    if (!s.ok()) return s;
  }
  return st->Run();
}

absl::StatusOr<std::vector<Label>> RagDb::InsertChunks(std::string_view tenant,
                                                       std::string_view kb, int64_t gen,
                                                       std::string_view doc_id,
                                                       int64_t doc_version,
                                                       std::span<const NewChunk> chunks,
                                                       bool synced) {
  // Seal outside the write lock: it is the CPU-heavy part.
  std::vector<std::string> sealed;
  sealed.reserve(chunks.size());
  // Labels are rowids, known only after the insert, so the AAD binds the
  // document version and ordinal instead (unique per knowledge base).
  for (size_t i = 0; i < chunks.size(); ++i) {
    absl::StatusOr<std::string> text =
        impl_->Seal(tenant, "rag_chunks", StrCat(kb, "/", doc_id, "/", doc_version, "/", i),
                    "text", chunks[i].chunk->text);
    if (!text.ok()) return text.status();
    sealed.push_back(*std::move(text));
  }
  absl::MutexLock lock(&impl_->write_mu);
  Connection& db = *impl_->writer;
  Unsynced unsynced(db, !synced);
  if (absl::Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  std::vector<Label> labels;
  labels.reserve(chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& c = *chunks[i].chunk;
    absl::StatusOr<Statement> st = db.Prepare(
        "INSERT INTO chunks (tenant, kb, gen, doc_id, doc_version, ordinal, parent, searchable, "
        "span_begin, span_end, page_first, page_last, text, vector) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st.ok()) {
      db.RollbackIfOpen();
      return st.status();
    }
    Label parent = c.parent >= 0 && static_cast<size_t>(c.parent) < labels.size()
                       ? labels[static_cast<size_t>(c.parent)]
                       : 0;
    std::string_view vector(reinterpret_cast<const char*>(chunks[i].vector.data()),
                            chunks[i].vector.size() * sizeof(float));
    for (absl::Status s :
         {st->BindText(1, tenant), st->BindText(2, kb), st->BindInt(3, gen),
          st->BindText(4, doc_id), st->BindInt(5, doc_version),
          st->BindInt(6, static_cast<int64_t>(i)), st->BindInt(7, static_cast<int64_t>(parent)),
          st->BindInt(8, c.searchable ? 1 : 0), st->BindInt(9, static_cast<int64_t>(c.begin)),
          st->BindInt(10, static_cast<int64_t>(c.end)), st->BindInt(11, c.pages.first),
          st->BindInt(12, c.pages.last), st->BindText(13, sealed[i]), st->BindBlob(14, vector)}) {
      if (!s.ok()) {
        db.RollbackIfOpen();
        return s;
      }
    }
    if (absl::Status s = st->Run(); !s.ok()) {
      db.RollbackIfOpen();
      return s;
    }
    labels.push_back(static_cast<Label>(sqlite3_last_insert_rowid(db.handle())));
  }
  if (absl::Status s = db.Exec("COMMIT"); !s.ok()) {
    db.RollbackIfOpen();
    return s;
  }
  return labels;
}

absl::Status RagDb::CommitVersion(std::string_view tenant, std::string_view kb,
                                  std::string_view doc_id, int64_t version,
                                  const StagedContent& staged, std::string_view extracted_json,
                                  const DocumentState& info) {
  std::string rid = DocRow(kb, doc_id);
  absl::StatusOr<std::string> attrs = impl_->Seal(tenant, "rag_documents", rid, "attributes",
                                                  AttributesToJson(staged.attributes).dump());
  if (!attrs.ok()) return attrs.status();
  absl::StatusOr<std::string> extracted =
      impl_->Seal(tenant, "rag_documents", rid, "extracted", extracted_json);
  if (!extracted.ok()) return extracted.status();
  nlohmann::json info_json = {{"extractor", info.extractor}, {"pages", info.pages},
                              {"ocr_pages", info.ocr_pages}, {"chunks", info.chunks}};
  absl::MutexLock lock(&impl_->write_mu);
  absl::StatusOr<Statement> st = impl_->writer->Prepare(
      "UPDATE documents SET status='INDEXED', reason='', version=?, content_hash=?, mime=?, "
      "source_uri=?, attributes=?, extracted=?, info=?, updated_ms=?, "
      "staged=CASE WHEN staged_hash=? THEN NULL ELSE staged END, "
      "status=CASE WHEN staged_hash=? THEN 'INDEXED' ELSE 'PENDING' END "
      "WHERE tenant=? AND kb=? AND doc_id=?");
  if (!st.ok()) return st.status();
  std::string info_text = info_json.dump();
  for (absl::Status s :
       {st->BindInt(1, version), st->BindText(2, staged.content_hash), st->BindText(3, staged.mime),
        st->BindText(4, staged.source_uri), st->BindText(5, *attrs), st->BindText(6, *extracted),
        st->BindText(7, info_text), st->BindInt(8, NowMillis()),
        st->BindText(9, staged.content_hash), st->BindText(10, staged.content_hash),
        st->BindText(11, tenant), st->BindText(12, kb), st->BindText(13, doc_id)}) {
    if (!s.ok()) return s;
  }
  return st->Run();
}

namespace {

constexpr char kChunkColumns[] =
    "label, doc_id, doc_version, ordinal, parent, searchable, span_begin, span_end, page_first, "
    "page_last";

ChunkRow ReadChunk(const Statement& st, bool with_vector) {
  ChunkRow c;
  c.label = static_cast<Label>(st.ColumnInt(0));
  c.doc_id = std::string(st.ColumnText(1));
  c.doc_version = st.ColumnInt(2);
  c.ordinal = static_cast<int>(st.ColumnInt(3));
  c.parent = static_cast<Label>(st.ColumnInt(4));
  c.searchable = st.ColumnInt(5) != 0;
  c.begin = static_cast<size_t>(st.ColumnInt(6));
  c.end = static_cast<size_t>(st.ColumnInt(7));
  c.pages = {static_cast<int>(st.ColumnInt(8)), static_cast<int>(st.ColumnInt(9))};
  if (with_vector) {
    std::string_view blob = st.ColumnBlob(10);
    c.vector.resize(blob.size() / sizeof(float));
    if (!c.vector.empty()) std::memcpy(c.vector.data(), blob.data(), c.vector.size() * sizeof(float));
  }
  return c;
}

}  // namespace

absl::StatusOr<std::vector<ChunkRow>> RagDb::DocumentChunks(std::string_view tenant,
                                                            std::string_view kb, int64_t gen,
                                                            std::string_view doc_id) {
  absl::StatusOr<sqlite::ConnectionPool::Lease> conn = impl_->readers->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> st = (*conn)->Prepare(
      StrCat("SELECT ", kChunkColumns,
             " FROM chunks WHERE tenant=? AND kb=? AND gen=? AND doc_id=? ORDER BY label"));
  if (!st.ok()) return st.status();
  for (absl::Status s : {st->BindText(1, tenant), st->BindText(2, kb), st->BindInt(3, gen),
                         st->BindText(4, doc_id)}) {
    if (!s.ok()) return s;
  }
  std::vector<ChunkRow> out;
  while (true) {
    absl::StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(ReadChunk(*st, false));
  }
  return out;
}

absl::Status RagDb::DeleteChunks(std::string_view tenant, std::string_view kb,
                                 std::span<const Label> labels) {
  absl::MutexLock lock(&impl_->write_mu);
  Connection& db = *impl_->writer;
  if (absl::Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  for (Label label : labels) {
    absl::StatusOr<Statement> st =
        db.Prepare("DELETE FROM chunks WHERE label=? AND tenant=? AND kb=?");
    if (!st.ok()) {
      db.RollbackIfOpen();
      return st.status();
    }
    for (absl::Status s : {st->BindInt(1, static_cast<int64_t>(label)), st->BindText(2, tenant),
                           st->BindText(3, kb)}) {
      if (!s.ok()) {
        db.RollbackIfOpen();
        return s;
      }
    }
    if (absl::Status s = st->Run(); !s.ok()) {
      db.RollbackIfOpen();
      return s;
    }
  }
  if (absl::Status s = db.Exec("COMMIT"); !s.ok()) {
    db.RollbackIfOpen();
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ChunkRow>> RagDb::GenerationChunks(std::string_view tenant,
                                                              std::string_view kb, int64_t gen,
                                                              bool with_vectors) {
  absl::StatusOr<sqlite::ConnectionPool::Lease> conn = impl_->readers->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> st = (*conn)->Prepare(
      StrCat("SELECT ", kChunkColumns, with_vectors ? ", vector" : "",
             " FROM chunks WHERE tenant=? AND kb=? AND gen=? ORDER BY label"));
  if (!st.ok()) return st.status();
  for (absl::Status s : {st->BindText(1, tenant), st->BindText(2, kb), st->BindInt(3, gen)}) {
    if (!s.ok()) return s;
  }
  std::vector<ChunkRow> out;
  while (true) {
    absl::StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(ReadChunk(*st, with_vectors));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> RagDb::ChunkTexts(std::string_view tenant,
                                                           std::string_view kb,
                                                           std::span<const Label> labels) {
  absl::StatusOr<sqlite::ConnectionPool::Lease> conn = impl_->readers->Acquire();
  if (!conn.ok()) return conn.status();
  std::vector<std::string> out;
  out.reserve(labels.size());
  for (Label label : labels) {
    absl::StatusOr<Statement> st = (*conn)->Prepare(
        "SELECT text, doc_id, doc_version, ordinal FROM chunks WHERE label=? AND tenant=? AND kb=?");
    if (!st.ok()) return st.status();
    for (absl::Status s : {st->BindInt(1, static_cast<int64_t>(label)), st->BindText(2, tenant),
                           st->BindText(3, kb)}) {
      if (!s.ok()) return s;
    }
    absl::StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      out.emplace_back();
      continue;
    }
    absl::StatusOr<std::string> text = impl_->Open(
        tenant, "rag_chunks",
        StrCat(kb, "/", st->ColumnText(1), "/", st->ColumnInt(2), "/", st->ColumnInt(3)), "text",
        st->ColumnText(0));
    if (!text.ok()) return text.status();
    out.push_back(*std::move(text));
  }
  return out;
}

namespace {

absl::Status RunDelete(Connection& db, std::string_view sql,
                       std::initializer_list<std::string_view> texts, int64_t number = -1) {
  absl::StatusOr<Statement> st = db.Prepare(sql);
  if (!st.ok()) return st.status();
  int index = 1;
  for (std::string_view t : texts) {
    if (absl::Status s = st->BindText(index++, t); !s.ok()) return s;
  }
  if (number >= 0) {
    if (absl::Status s = st->BindInt(index, number); !s.ok()) return s;
  }
  return st->Run();
}

}  // namespace

absl::Status RagDb::DeleteDocumentRow(std::string_view tenant, std::string_view kb,
                                      std::string_view doc_id) {
  absl::MutexLock lock(&impl_->write_mu);
  Connection& db = *impl_->writer;
  if (absl::Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status s = RunDelete(db, "DELETE FROM chunks WHERE tenant=? AND kb=? AND doc_id=?",
                             {tenant, kb, doc_id});
  if (s.ok()) {
    s = RunDelete(db, "DELETE FROM documents WHERE tenant=? AND kb=? AND doc_id=?",
                  {tenant, kb, doc_id});
  }
  if (s.ok()) s = db.Exec("COMMIT");
  if (!s.ok()) db.RollbackIfOpen();
  return s;
}

absl::Status RagDb::DeleteGeneration(std::string_view tenant, std::string_view kb, int64_t gen) {
  absl::MutexLock lock(&impl_->write_mu);
  return RunDelete(*impl_->writer, "DELETE FROM chunks WHERE tenant=? AND kb=? AND gen=?",
                   {tenant, kb}, gen);
}

absl::Status RagDb::DeleteKnowledgeBase(std::string_view tenant, std::string_view kb) {
  absl::MutexLock lock(&impl_->write_mu);
  Connection& db = *impl_->writer;
  if (absl::Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status s = RunDelete(db, "DELETE FROM chunks WHERE tenant=? AND kb=?", {tenant, kb});
  if (s.ok()) s = RunDelete(db, "DELETE FROM documents WHERE tenant=? AND kb=?", {tenant, kb});
  if (s.ok()) {
    s = RunDelete(db, "DELETE FROM ingestion_jobs WHERE tenant=? AND kb=?", {tenant, kb});
  }
  if (s.ok()) s = db.Exec("COMMIT");
  if (!s.ok()) db.RollbackIfOpen();
  return s;
}

absl::Status RagDb::AdminDeleteTenant(std::string_view tenant) {
  absl::MutexLock lock(&impl_->write_mu);
  Connection& db = *impl_->writer;
  if (absl::Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status s = RunDelete(db, "DELETE FROM chunks WHERE tenant=?", {tenant});
  if (s.ok()) s = RunDelete(db, "DELETE FROM documents WHERE tenant=?", {tenant});
  if (s.ok()) s = RunDelete(db, "DELETE FROM ingestion_jobs WHERE tenant=?", {tenant});
  if (s.ok()) s = db.Exec("COMMIT");
  if (!s.ok()) db.RollbackIfOpen();
  return s;
}

namespace {

nlohmann::json JobToJson(const IngestionJob& job) {
  return {{"kb", job.kb}, {"data_source", job.data_source}, {"id", job.id},
          {"status", job.status}, {"failures", job.failures}, {"scanned", job.scanned},
          {"new_indexed", job.new_indexed}, {"modified_indexed", job.modified_indexed},
          {"deleted", job.deleted}, {"failed", job.failed}, {"unchanged", job.unchanged},
          {"started_ms", job.started_ms}, {"updated_ms", job.updated_ms}};
}

IngestionJob JobFromJson(const nlohmann::json& j) {
  IngestionJob job;
  job.kb = j.value("kb", "");
  job.data_source = j.value("data_source", "");
  job.id = j.value("id", "");
  job.status = j.value("status", "");
  job.failures = j.value("failures", std::vector<std::string>{});
  job.scanned = j.value("scanned", int64_t{0});
  job.new_indexed = j.value("new_indexed", int64_t{0});
  job.modified_indexed = j.value("modified_indexed", int64_t{0});
  job.deleted = j.value("deleted", int64_t{0});
  job.failed = j.value("failed", int64_t{0});
  job.unchanged = j.value("unchanged", int64_t{0});
  job.started_ms = j.value("started_ms", int64_t{0});
  job.updated_ms = j.value("updated_ms", int64_t{0});
  return job;
}

}  // namespace

absl::Status RagDb::PutJob(std::string_view tenant, const IngestionJob& job) {
  std::string body = JobToJson(job).dump();
  absl::MutexLock lock(&impl_->write_mu);
  absl::StatusOr<Statement> st = impl_->writer->Prepare(
      "INSERT INTO ingestion_jobs (tenant, kb, id, data_source, body) VALUES (?,?,?,?,?) "
      "ON CONFLICT (tenant, kb, id) DO UPDATE SET body=excluded.body");
  if (!st.ok()) return st.status();
  for (absl::Status s : {st->BindText(1, tenant), st->BindText(2, job.kb), st->BindText(3, job.id),
                         st->BindText(4, job.data_source), st->BindText(5, body)}) {
    if (!s.ok()) return s;
  }
  return st->Run();
}

absl::StatusOr<std::optional<IngestionJob>> RagDb::GetJob(std::string_view tenant,
                                                          std::string_view kb,
                                                          std::string_view id) {
  absl::StatusOr<sqlite::ConnectionPool::Lease> conn = impl_->readers->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> st =
      (*conn)->Prepare("SELECT body FROM ingestion_jobs WHERE tenant=? AND kb=? AND id=?");
  if (!st.ok()) return st.status();
  for (absl::Status s : {st->BindText(1, tenant), st->BindText(2, kb), st->BindText(3, id)}) {
    if (!s.ok()) return s;
  }
  absl::StatusOr<bool> row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(st->ColumnText(0), nullptr, false);
  if (j.is_discarded()) return absl::DataLossError("stored ingestion job is not JSON");
  return JobFromJson(j);
}

absl::StatusOr<std::vector<IngestionJob>> RagDb::ListJobs(std::string_view tenant,
                                                          std::string_view kb,
                                                          std::string_view data_source) {
  absl::StatusOr<sqlite::ConnectionPool::Lease> conn = impl_->readers->Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<Statement> st = (*conn)->Prepare(
      "SELECT body FROM ingestion_jobs WHERE tenant=? AND kb=? AND data_source=? ORDER BY id");
  if (!st.ok()) return st.status();
  for (absl::Status s :
       {st->BindText(1, tenant), st->BindText(2, kb), st->BindText(3, data_source)}) {
    if (!s.ok()) return s;
  }
  std::vector<IngestionJob> out;
  while (true) {
    absl::StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    nlohmann::json j = nlohmann::json::parse(st->ColumnText(0), nullptr, false);
    if (!j.is_discarded()) out.push_back(JobFromJson(j));
  }
  return out;
}

}  // namespace basalt::rag
