#include "rag/kb/generation.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/strings.h"
#include "rag/index/exact_vector_index.h"
#include "rag/index/fts5_text_index.h"
#include "rag/index/hnsw_index.h"

namespace basalt::rag {
namespace fs = std::filesystem;

namespace {

// Filters passing at most max(this, a quarter of the live chunks) get their
// passing chunks listed for the indexes (GenerationQuery -> passing_labels).
constexpr size_t kListPassingMin = 2000;

std::string PathIn(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string() : (fs::path(dir) / name).string();
}

}  // namespace

Generation::Generation(GenerationOptions options, RagDb& db)
    : options_(std::move(options)), db_(db) {}

Generation::~Generation() = default;

absl::StatusOr<std::unique_ptr<Generation>> Generation::Open(const GenerationOptions& options,
                                                             RagDb& db) {
  if (options.dimensions <= 0) {
    return absl::InvalidArgumentError("generation: dimensions must be positive");
  }
  std::unique_ptr<Generation> gen(new Generation(options, db));
  if (absl::Status s = gen->Load(); !s.ok()) return s;
  return gen;
}

absl::Status Generation::Load() {
  std::error_code ec;
  bool clean = false;
  if (!options_.dir.empty()) {
    fs::create_directories(options_.dir, ec);
    if (ec) return absl::UnavailableError(StrCat("rag: cannot create ", options_.dir, ": ", ec.message()));
    clean = fs::exists(PathIn(options_.dir, "CLEAN"), ec);
    if (!clean) {
      // The indexes may not match rag.db: start them from nothing.
      for (const char* name : {"vectors.hnsw", "text.db", "text.db-wal", "text.db-shm"}) {
        fs::remove(PathIn(options_.dir, name), ec);
      }
    }
  }
  HnswOptions hnsw;
  hnsw.path = PathIn(options_.dir, "vectors.hnsw");
  hnsw.dimensions = options_.dimensions;
  hnsw.m = options_.hnsw_m;
  hnsw.ef_construction = options_.ef_construction;
  hnsw.ef_search = options_.ef_search;
  absl::StatusOr<std::unique_ptr<HnswVectorIndex>> vectors = HnswVectorIndex::Open(hnsw);
  if (!vectors.ok()) {
    if (!clean) return vectors.status();
    // A corrupt saved index: rebuild it from the rows.
    fs::remove(hnsw.path, ec);
    clean = false;
    vectors = HnswVectorIndex::Open(hnsw);
    if (!vectors.ok()) return vectors.status();
  }
  vectors_ = *std::move(vectors);
  std::string text_path = options_.dir.empty() ? ":memory:" : PathIn(options_.dir, "text.db");
  absl::StatusOr<std::unique_ptr<Fts5TextIndex>> text = Fts5TextIndex::Open(text_path);
  if (!text.ok()) return text.status();
  text_ = *std::move(text);

  absl::StatusOr<std::vector<DocumentRow>> docs = db_.LiveDocuments(options_.tenant, options_.kb);
  if (!docs.ok()) return docs.status();
  absl::StatusOr<std::vector<ChunkRow>> rows =
      db_.GenerationChunks(options_.tenant, options_.kb, options_.number, /*with_vectors=*/!clean);
  if (!rows.ok()) return rows.status();
  {
    std::unique_lock lock(mu_);
    for (DocumentRow& row : *docs) {
      uint32_t slot = SlotFor(row.state.id);
      LiveDocument& d = docs_[slot].doc;
      d.data_source = row.state.data_source;
      d.source_uri = row.state.source_uri;
      d.version = row.state.version;
      d.attributes = std::move(row.attributes);
      columns_.Set(slot, d.attributes);
    }
    for (const ChunkRow& row : *rows) {
      auto slot = doc_slots_.find(ToAbsl(row.doc_id));
      if (slot == doc_slots_.end()) continue;  // a deleted document's leftovers
      ChunkMeta meta{slot->second, row.doc_version, row.parent, row.searchable,
                     static_cast<uint32_t>(row.begin), static_cast<uint32_t>(row.end), row.pages};
      chunks_[row.label] = meta;
      docs_[slot->second].labels.push_back(row.label);
      if (row.searchable && docs_[slot->second].doc.version == row.doc_version) {
        ++docs_[slot->second].live_chunks;
        ++live_chunks_;
      }
    }
  }
  {
    // A document is live here only at a version this generation holds chunks
    // of (a re-index generation starts with none, and fills in).
    std::unique_lock lock(mu_);
    std::vector<char> held(docs_.size(), 0);
    for (const auto& [label, meta] : chunks_) {
      if (meta.version == docs_[meta.doc].doc.version) held[meta.doc] = 1;
    }
    for (size_t i = 0; i < docs_.size(); ++i) {
      if (!held[i]) docs_[i].doc.version = 0;
      SyncLive(static_cast<uint32_t>(i));
    }
  }
  if (!clean) {
    if (absl::Status s = Rebuild(*rows); !s.ok()) return s;
  }
  clean_.store(clean);
  return absl::OkStatus();
}

absl::Status Generation::Rebuild(const std::vector<ChunkRow>& rows) {
  constexpr size_t kBatch = 256;
  std::vector<Label> labels;
  for (size_t i = 0; i < rows.size(); i += kBatch) {
    labels.clear();
    size_t end = std::min(rows.size(), i + kBatch);
    for (size_t j = i; j < end; ++j) {
      if (!rows[j].searchable) continue;
      labels.push_back(rows[j].label);
      if (absl::Status s = vectors_->Add(rows[j].label, rows[j].vector); !s.ok()) return s;
    }
    absl::StatusOr<std::vector<std::string>> texts =
        db_.ChunkTexts(options_.tenant, options_.kb, labels);
    if (!texts.ok()) return texts.status();
    std::vector<std::pair<Label, std::string_view>> entries;
    for (size_t j = 0; j < labels.size(); ++j) entries.emplace_back(labels[j], (*texts)[j]);
    if (absl::Status s = text_->Add(entries); !s.ok()) return s;
  }
  return absl::OkStatus();
}

uint32_t Generation::SlotFor(std::string_view doc_id) {
  auto it = doc_slots_.find(ToAbsl(doc_id));
  if (it != doc_slots_.end()) return it->second;
  uint32_t slot = static_cast<uint32_t>(docs_.size());
  docs_.emplace_back();
  docs_.back().doc.id = std::string(doc_id);
  live_of_.push_back(0);
  doc_slots_.emplace(std::string(doc_id), slot);
  return slot;
}

void Generation::SyncLive(uint32_t slot) {
  const DocSlot& d = docs_[slot];
  live_of_[slot] = d.doc.version > 0 ? d.live_chunks : 0;
}

void Generation::MarkDirty() {
  if (options_.dir.empty() || !clean_.exchange(false)) return;
  std::error_code ec;
  fs::remove(PathIn(options_.dir, "CLEAN"), ec);
}

absl::Status Generation::Add(std::string_view doc_id, int64_t version,
                             std::span<const Label> labels, std::span<const Chunk> chunks,
                             std::span<const std::vector<float>> vectors) {
  if (labels.size() != chunks.size() || vectors.size() != chunks.size()) {
    return absl::InternalError("generation: labels, chunks and vectors differ in number");
  }
  std::shared_lock saving(save_mu_);
  MarkDirty();
  std::vector<std::pair<Label, std::string_view>> entries;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (!chunks[i].searchable) continue;
    if (absl::Status s = vectors_->Add(labels[i], vectors[i]); !s.ok()) return s;
    entries.emplace_back(labels[i], chunks[i].text);
  }
  if (absl::Status s = text_->Add(entries); !s.ok()) return s;
  std::unique_lock lock(mu_);
  uint32_t slot = SlotFor(doc_id);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& c = chunks[i];
    Label parent = c.parent >= 0 && static_cast<size_t>(c.parent) < labels.size()
                       ? labels[static_cast<size_t>(c.parent)]
                       : 0;
    chunks_[labels[i]] = ChunkMeta{slot, version, parent, c.searchable,
                                   static_cast<uint32_t>(c.begin), static_cast<uint32_t>(c.end),
                                   c.pages};
    docs_[slot].labels.push_back(labels[i]);
  }
  return absl::OkStatus();
}

std::vector<Label> Generation::SetLive(const LiveDocument& doc) {
  std::unique_lock lock(mu_);
  uint32_t slot = SlotFor(doc.id);
  DocSlot& d = docs_[slot];
  live_chunks_ -= d.live_chunks;
  d.doc = doc;
  d.live_chunks = 0;
  columns_.Set(slot, doc.attributes);
  std::vector<Label> stale;
  for (Label label : d.labels) {
    auto it = chunks_.find(label);
    if (it == chunks_.end()) continue;
    const ChunkMeta& meta = it->second;
    if (meta.version != doc.version) {
      stale.push_back(label);
    } else if (meta.searchable) {
      ++d.live_chunks;
    }
  }
  live_chunks_ += d.live_chunks;
  SyncLive(slot);
  std::sort(stale.begin(), stale.end());
  return stale;
}

absl::Status Generation::Remove(std::span<const Label> labels) {
  if (labels.empty()) return absl::OkStatus();
  std::shared_lock saving(save_mu_);
  MarkDirty();
  absl::StatusOr<std::vector<std::string>> texts =
      db_.ChunkTexts(options_.tenant, options_.kb, labels);
  if (!texts.ok()) return texts.status();
  std::vector<std::pair<Label, std::string_view>> entries;
  {
    std::shared_lock lock(mu_);
    for (size_t i = 0; i < labels.size(); ++i) {
      auto it = chunks_.find(labels[i]);
      if (it != chunks_.end() && !it->second.searchable) continue;
      entries.emplace_back(labels[i], (*texts)[i]);
    }
  }
  for (const auto& [label, text] : entries) {
    if (absl::Status s = vectors_->Remove(label); !s.ok()) return s;
  }
  if (absl::Status s = text_->Remove(entries); !s.ok()) return s;
  {
    std::unique_lock lock(mu_);
    for (Label label : labels) {
      auto it = chunks_.find(label);
      if (it == chunks_.end()) continue;
      std::vector<Label>& owned = docs_[it->second.doc].labels;
      owned.erase(std::remove(owned.begin(), owned.end(), label), owned.end());
      chunks_.erase(it);
    }
  }
  return db_.DeleteChunks(options_.tenant, options_.kb, labels);
}

int64_t Generation::LiveVersion(std::string_view doc_id) const {
  std::shared_lock lock(mu_);
  auto it = doc_slots_.find(ToAbsl(doc_id));
  return it == doc_slots_.end() ? 0 : docs_[it->second].doc.version;
}

std::optional<LiveDocument> Generation::DocumentCopy(std::string_view doc_id) const {
  std::shared_lock lock(mu_);
  auto it = doc_slots_.find(ToAbsl(doc_id));
  if (it == doc_slots_.end()) return std::nullopt;
  return docs_[it->second].doc;
}

size_t Generation::live_chunks() const {
  std::shared_lock lock(mu_);
  return live_chunks_;
}

size_t Generation::documents() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const DocSlot& d : docs_) n += d.doc.version > 0 ? 1 : 0;
  return n;
}

absl::StatusOr<GenerationResult> Generation::Search(const GenerationQuery& query) const {
  std::shared_lock lock(mu_);
  // Which documents pass: live, and matching the filter. Without a filter
  // every live chunk passes and no per-document pass is needed.
  const bool filtered = query.filter != nullptr;
  // allowed[i]: docs_[i] is live and matches (the filter over every document
  // at once, attribute_columns.h; a per-thread buffer, as searches on one
  // thread never overlap).
  thread_local std::vector<uint8_t> allowed;
  std::vector<uint32_t> allowed_docs;
  size_t passing = filtered ? 0 : live_chunks_;
  if (filtered) {
    columns_.Evaluate(*query.filter, docs_.size(), allowed);
    const uint32_t* live = live_of_.data();
    for (size_t i = 0; i < docs_.size(); ++i) {
      if (allowed[i] == 0) continue;
      if (live[i] == 0) {
        allowed[i] = 0;
        continue;
      }
      allowed_docs.push_back(static_cast<uint32_t>(i));
      passing += live[i];
    }
  }
  GenerationResult result;
  result.passing = passing;
  if (passing == 0) return result;
  LabelFilter accept = [&](Label label) {
    auto it = chunks_.find(label);
    if (it == chunks_.end()) return false;
    const ChunkMeta& m = it->second;
    return m.searchable && (!filtered || allowed[m.doc] != 0) &&
           docs_[m.doc].doc.version == m.version;
  };
  // A selective filter: list the passing chunks, so the indexes score just
  // those instead of testing every label (hnsw_index.h, bm25_postings.h).
  std::vector<Label> passing_labels;
  if (filtered && passing <= std::max<size_t>(kListPassingMin, live_chunks_ / 4)) {
    passing_labels.reserve(passing);
    for (uint32_t i : allowed_docs) {
      const DocSlot& d = docs_[i];
      for (Label label : d.labels) {
        auto it = chunks_.find(label);
        if (it != chunks_.end() && it->second.searchable && it->second.version == d.doc.version) {
          passing_labels.push_back(label);
        }
      }
    }
  }
  int candidates = query.candidates > 0 ? query.candidates : std::max(query.k * 4, 40);
  std::vector<VectorHit> vector_hits;
  std::vector<TextHit> text_hits;
  if (!query.vector.empty()) {
    VectorQuery vq;
    vq.vector = query.vector;
    vq.k = candidates;
    vq.ef = query.ef;
    vq.filter = &accept;
    vq.passing = passing;
    vq.passing_labels = passing_labels;
    absl::StatusOr<std::vector<VectorHit>> hits = vectors_->Search(vq);
    if (!hits.ok()) return hits.status();
    vector_hits = *std::move(hits);
  }
  if (!query.text.empty()) {
    TextQuery tq;
    tq.text = query.text;
    tq.k = candidates;
    tq.filter = &accept;
    tq.passing = passing;
    tq.passing_labels = passing_labels;
    absl::StatusOr<std::vector<TextHit>> hits = text_->Search(tq);
    if (!hits.ok()) return hits.status();
    text_hits = *std::move(hits);
  }
  std::vector<FusedHit> fused;
  if (query.text.empty() || query.vector.empty()) {
    // One list: its own order and scores.
    for (const VectorHit& h : vector_hits) {
      fused.push_back(FusedHit{h.label, h.score, h.score, 0, 0, -1});
    }
    for (const TextHit& h : text_hits) {
      fused.push_back(FusedHit{h.label, h.score, 0, h.score, -1, 0});
    }
    if (fused.size() > static_cast<size_t>(query.k)) fused.resize(static_cast<size_t>(query.k));
  } else {
    fused = Fuse(vector_hits, text_hits, query.fusion, query.k);
  }
  for (const FusedHit& f : fused) {
    auto it = chunks_.find(f.label);
    if (it == chunks_.end()) continue;
    const ChunkMeta& m = it->second;
    GenerationHit hit;
    hit.label = f.label;
    hit.doc_id = docs_[m.doc].doc.id;
    hit.doc_version = m.version;
    hit.parent = m.parent;
    hit.begin = m.begin;
    hit.end = m.end;
    hit.pages = m.pages;
    hit.score = f.score;
    hit.vector_score = f.vector_score;
    hit.text_score = f.text_score;
    if (m.parent != 0) {
      // HIERARCHICAL: the parent's span is what is returned.
      auto p = chunks_.find(m.parent);
      if (p != chunks_.end()) {
        hit.begin = p->second.begin;
        hit.end = p->second.end;
        hit.pages = p->second.pages;
      }
    }
    result.hits.push_back(std::move(hit));
  }
  return result;
}

absl::Status Generation::Save() {
  if (options_.dir.empty()) return absl::OkStatus();
  std::unique_lock saving(save_mu_);
  if (clean_.load()) return absl::OkStatus();
  if (absl::Status s = vectors_->Save(PathIn(options_.dir, "vectors.hnsw")); !s.ok()) return s;
  std::ofstream marker(PathIn(options_.dir, "CLEAN"), std::ios::trunc);
  marker << "indexes match rag.db\n";
  marker.close();
  if (!marker) return absl::UnavailableError(StrCat("rag: cannot write the marker in ", options_.dir));
  clean_.store(true);
  return absl::OkStatus();
}

absl::Status Generation::DeleteFiles() {
  if (options_.dir.empty()) return absl::OkStatus();
  text_.reset();
  vectors_.reset();
  std::error_code ec;
  fs::remove_all(options_.dir, ec);
  if (ec) return absl::UnavailableError(StrCat("rag: cannot remove ", options_.dir, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace basalt::rag
