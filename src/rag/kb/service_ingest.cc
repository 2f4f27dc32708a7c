// KnowledgeBaseService: documents, the ingestion worker, re-indexing and
// directory scans.
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <filesystem>
#include <memory>
#include <fstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/ids.h"
#include "core/log.h"
#include "core/strings.h"
#include "rag/chunk/chunker.h"
#include "rag/kb/gate_embedder.h"
#include "rag/kb/kb_json.h"
#include "rag/kb/runtime.h"
#include "rag/kb/service.h"

namespace basalt::rag {
namespace fs = std::filesystem;

namespace {

constexpr std::chrono::milliseconds kLeaseVisibility{15000};
constexpr std::chrono::milliseconds kBusyPause{200};  // before a busy document's job runs again
constexpr int64_t kMaxFailures = 50;  // per job; then it is dead and its document FAILED

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Sha256Hex(std::initializer_list<std::string_view> parts) {
  // Each part length-prefixed (host-order uint64), so parts cannot run together.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
  for (std::string_view p : parts) {
    uint64_t n = p.size();
    EVP_DigestUpdate(sha.get(), &n, sizeof(n));
    EVP_DigestUpdate(sha.get(), p.data(), p.size());
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  EVP_DigestFinal_ex(sha.get(), digest, nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

nlohmann::json ExtractedToJson(const Extracted& e) {
  nlohmann::json pages = nlohmann::json::array();
  for (const PageSpan& p : e.pages) pages.push_back({p.page, p.begin, p.end, p.ocr});
  nlohmann::json headings = nlohmann::json::array();
  for (const Heading& h : e.headings) headings.push_back({h.level, h.begin, h.end});
  return {{"text", e.text}, {"pages", pages}, {"headings", headings}, {"mime", e.mime},
          {"extractor", e.extractor}, {"version", e.version}, {"ocr_pages", e.ocr_pages}};
}

Extracted ExtractedFromJson(const nlohmann::json& j) {
  Extracted e;
  e.text = j.value("text", "");
  for (const auto& p : j.value("pages", nlohmann::json::array())) {
    e.pages.push_back(PageSpan{p[0].get<int>(), p[1].get<size_t>(), p[2].get<size_t>(),
                               p[3].get<bool>()});
  }
  for (const auto& h : j.value("headings", nlohmann::json::array())) {
    e.headings.push_back(Heading{h[0].get<int>(), h[1].get<size_t>(), h[2].get<size_t>()});
  }
  e.mime = j.value("mime", "");
  e.extractor = j.value("extractor", "");
  e.version = j.value("version", "");
  e.ocr_pages = j.value("ocr_pages", 0);
  return e;
}

absl::Status ValidDocumentId(std::string_view id, std::string_view field) {
  if (id.empty() || id.size() > 1024) {
    return absl::InvalidArgumentError(StrCat(field, ": must be 1..1024 characters"));
  }
  for (unsigned char c : id) {
    if (c < 0x20) return absl::InvalidArgumentError(StrCat(field, ": must not hold control characters"));
  }
  return absl::OkStatus();
}

}  // namespace

boost::asio::awaitable<absl::Status> KnowledgeBaseService::Enqueue(const std::string& tenant,
                                                                   nlohmann::json payload,
                                                                   std::string idempotency_key) {
  bus::NewJob job;
  job.id = NewId("rag_");
  job.queue = options_.queue;
  job.tenant = tenant;
  job.payload = payload.dump();
  job.idempotency_key = std::move(idempotency_key);
  job.idempotency_window_ms = 1000;  // only collapses a burst; later runs are wanted
  // Busy hand-backs are leases too; real failures are capped by kMaxFailures.
  job.max_attempts = 1000000;
  std::vector<bus::Event> no_events;
  absl::StatusOr<bus::EnqueueResult> r = co_await deps_.bus->Enqueue(std::move(job), no_events);
  co_return r.status();
}

boost::asio::awaitable<absl::Status> KnowledgeBaseService::EnqueueAll(
    const std::string& tenant, std::vector<std::pair<nlohmann::json, std::string>> jobs) {
  // The enqueues run at once on this (single-threaded) executor; the last one
  // to finish releases the waiter by moving the timer's expiry to the past,
  // which also completes a wait that starts after it.
  struct Pending {
    explicit Pending(boost::asio::any_io_executor ex) : done(ex) {}
    size_t left = 0;
    absl::Status status;
    boost::asio::steady_timer done;
  };
  auto ex = co_await boost::asio::this_coro::executor;
  auto pending = std::make_shared<Pending>(ex);
  pending->left = jobs.size();
  pending->done.expires_at(boost::asio::steady_timer::time_point::max());
  for (auto& [payload, key] : jobs) {
    auto one = [this, pending, tenant, payload = std::move(payload),
                key = std::move(key)]() mutable -> boost::asio::awaitable<void> {
      absl::Status s = co_await Enqueue(tenant, std::move(payload), std::move(key));
      if (!s.ok() && pending->status.ok()) pending->status = s;
      if (--pending->left == 0) {
        pending->done.expires_at(boost::asio::steady_timer::time_point::min());
      }
    };
    boost::asio::co_spawn(ex, std::move(one), boost::asio::detached);
  }
  if (pending->left > 0) {
    boost::system::error_code ec;
    co_await pending->done.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  co_return pending->status;
}

boost::asio::awaitable<absl::StatusOr<std::vector<DocumentState>>> KnowledgeBaseService::Ingest(
    const RequestContext& ctx, std::string kb_id, std::vector<DocumentInput> documents) {
  if (documents.empty()) co_return absl::InvalidArgumentError("documents: must not be empty");
  if (static_cast<int>(documents.size()) > options_.max_documents_per_request) {
    co_return absl::InvalidArgumentError(StrCat("documents: at most ",
                                                options_.max_documents_per_request,
                                                " per request"));
  }
  absl::StatusOr<std::shared_ptr<Runtime>> loaded = co_await Load(ctx, kb_id);
  if (!loaded.ok()) co_return loaded.status();
  Runtime::View view = (*loaded)->Snapshot();
  if (view.deleted) co_return absl::NotFoundError(StrCat("knowledge base ", kb_id, " not found"));
  std::string default_source = view.kb.extra.value("defaultDataSource", "");
  // Validate everything before storing anything.
  for (size_t i = 0; i < documents.size(); ++i) {
    DocumentInput& d = documents[i];
    std::string field = StrCat("documents[", i, "]");
    if (absl::Status s = ValidDocumentId(d.id, StrCat(field, ".id")); !s.ok()) co_return s;
    if (d.content.size() > options_.limits.max_bytes) {
      co_return absl::InvalidArgumentError(
          StrCat(field, ".content: ", d.content.size(), " bytes is over rag.max_document_bytes (",
                 options_.limits.max_bytes, ")"));
    }
    if (d.content.empty()) co_return absl::InvalidArgumentError(StrCat(field, ".content: must not be empty"));
    if (d.data_source.empty()) d.data_source = default_source;
    if (d.data_source != default_source) {
      absl::StatusOr<DataSource> source = co_await GetDataSource(ctx, kb_id, d.data_source);
      if (!source.ok()) co_return source.status();
    }
  }
  // One read of the current rows, one staging transaction, and the jobs
  // enqueued together (the bus commits concurrent enqueues in one group).
  RagDb* db = deps_.db;
  std::string tenant = ctx.tenant;
  std::vector<std::string> hashes;
  for (const DocumentInput& d : documents) {
    hashes.push_back(Sha256Hex({d.content, d.mime_type, AttributesToJson(d.attributes).dump(),
                                d.source_uri}));
  }
  std::vector<std::string> ids;
  for (const DocumentInput& d : documents) ids.push_back(d.id);
  auto current = [db, tenant, kb_id, ids]() -> absl::StatusOr<std::vector<std::optional<DocumentRow>>> {
    std::vector<std::optional<DocumentRow>> rows;
    for (const std::string& id : ids) {
      absl::StatusOr<std::optional<DocumentRow>> row = db->GetDocument(tenant, kb_id, id);
      if (!row.ok()) return row.status();
      rows.push_back(*std::move(row));
    }
    return rows;
  };
  absl::StatusOr<std::vector<std::optional<DocumentRow>>> rows =
      co_await deps_.blocking->Run(std::move(current));
  if (!rows.ok()) co_return rows.status();
  std::vector<RagDb::StageRequest> stages;
  std::vector<DocumentState> out;
  std::vector<size_t> staged_at;  // positions in `out` of the staged documents
  for (size_t i = 0; i < documents.size(); ++i) {
    DocumentInput& d = documents[i];
    const std::optional<DocumentRow>& row = (*rows)[i];
    if (row.has_value() && row->state.content_hash == hashes[i] && row->state.status == kIndexed &&
        !row->has_pending) {
      out.push_back(row->state);  // unchanged: no work
      continue;
    }
    RagDb::StageRequest r;
    r.data_source = d.data_source;
    r.doc_id = d.id;
    r.staged.mime = d.mime_type;
    r.staged.source_uri = d.source_uri;
    r.staged.attributes = d.attributes;
    r.staged.content_hash = hashes[i];
    r.staged.content = std::move(d.content);
    stages.push_back(std::move(r));
    DocumentState state = row.has_value() ? row->state : DocumentState{};
    state.kb = kb_id;
    state.data_source = d.data_source;
    state.id = d.id;
    state.status = kPending;
    state.reason.clear();
    state.updated_ms = NowMs();
    staged_at.push_back(out.size());
    out.push_back(std::move(state));
  }
  if (stages.empty()) co_return out;
  std::vector<std::pair<nlohmann::json, std::string>> jobs;
  for (const RagDb::StageRequest& r : stages) {
    nlohmann::json payload = nlohmann::json::object();
    payload["op"] = std::string("index");
    payload["kb"] = kb_id;
    payload["doc"] = r.doc_id;
    jobs.emplace_back(std::move(payload),
                      StrCat("index/", kb_id, "/", r.doc_id, "/", r.staged.content_hash));
  }
  auto stage = [db, tenant, kb_id, stages = std::move(stages)]() {
    return db->StageAll(tenant, kb_id, stages);
  };
  if (absl::Status s = co_await deps_.blocking->Run(std::move(stage)); !s.ok()) co_return s;
  if (absl::Status s = co_await EnqueueAll(tenant, std::move(jobs)); !s.ok()) co_return s;
  co_return out;
}

boost::asio::awaitable<absl::StatusOr<std::vector<DocumentState>>>
KnowledgeBaseService::GetDocuments(const RequestContext& ctx, std::string kb_id,
                                   std::string data_source, std::vector<std::string> ids) {
  absl::StatusOr<std::shared_ptr<Runtime>> loaded = co_await Load(ctx, kb_id);
  if (!loaded.ok()) co_return loaded.status();
  RagDb* db = deps_.db;
  std::string tenant = ctx.tenant;
  auto read = [db, tenant, kb_id, data_source, ids]() -> absl::StatusOr<std::vector<DocumentState>> {
    std::vector<DocumentState> out;
    for (const std::string& id : ids) {
      absl::StatusOr<std::optional<DocumentRow>> row = db->GetDocument(tenant, kb_id, id);
      if (!row.ok()) return row.status();
      if (!row->has_value() || (!data_source.empty() && (*row)->state.data_source != data_source)) {
        DocumentState missing;
        missing.kb = kb_id;
        missing.data_source = data_source;
        missing.id = id;
        missing.status = kNotFound;
        out.push_back(std::move(missing));
      } else {
        out.push_back((*row)->state);
      }
    }
    return out;
  };
  co_return co_await deps_.blocking->Run(std::move(read));
}

boost::asio::awaitable<absl::StatusOr<Page<DocumentState>>> KnowledgeBaseService::ListDocuments(
    const RequestContext& ctx, std::string kb_id, std::string data_source, std::string after,
    int limit) {
  absl::StatusOr<std::shared_ptr<Runtime>> loaded = co_await Load(ctx, kb_id);
  if (!loaded.ok()) co_return loaded.status();
  RagDb* db = deps_.db;
  std::string tenant = ctx.tenant;
  int n = std::clamp(limit, 1, 1000);
  auto list = [db, tenant, kb_id, data_source, after, n]() {
    return db->ListDocuments(tenant, kb_id, data_source, after, n + 1);
  };
  absl::StatusOr<std::vector<DocumentState>> docs = co_await deps_.blocking->Run(std::move(list));
  if (!docs.ok()) co_return docs.status();
  Page<DocumentState> page;
  page.items = *std::move(docs);
  if (static_cast<int>(page.items.size()) > n) {
    page.items.resize(static_cast<size_t>(n));
    page.next = page.items.back().id;
  }
  co_return page;
}

boost::asio::awaitable<absl::StatusOr<std::vector<DocumentState>>>
KnowledgeBaseService::DeleteDocuments(const RequestContext& ctx, std::string kb_id,
                                      std::string data_source, std::vector<std::string> ids) {
  if (ids.empty()) co_return absl::InvalidArgumentError("documentIdentifiers: must not be empty");
  absl::StatusOr<std::shared_ptr<Runtime>> loaded = co_await Load(ctx, kb_id);
  if (!loaded.ok()) co_return loaded.status();
  Runtime& rt = **loaded;
  std::vector<DocumentState> out;
  RagDb* db = deps_.db;
  std::string tenant = ctx.tenant;
  for (const std::string& id : ids) {
    auto read = [db, tenant, kb_id, id]() { return db->GetDocument(tenant, kb_id, id); };
    absl::StatusOr<std::optional<DocumentRow>> row = co_await deps_.blocking->Run(std::move(read));
    if (!row.ok()) co_return row.status();
    if (!row->has_value() || (!data_source.empty() && (*row)->state.data_source != data_source)) {
      DocumentState missing;
      missing.kb = kb_id;
      missing.data_source = data_source;
      missing.id = id;
      missing.status = kNotFound;
      out.push_back(std::move(missing));
      continue;
    }
    // Withdrawn from queries at once; the job removes the chunks.
    Runtime::View view = rt.Snapshot();
    for (const std::shared_ptr<Generation>& gen : {view.gen, view.pending}) {
      if (!gen) continue;
      std::optional<LiveDocument> live = gen->DocumentCopy(id);
      if (live) {
        live->version = 0;
        (void)gen->SetLive(*live);
      }
    }
    auto mark = [db, tenant, kb_id, id]() { return db->SetStatus(tenant, kb_id, id, kDeleting, ""); };
    if (absl::Status s = co_await deps_.blocking->Run(std::move(mark)); !s.ok()) co_return s;
    nlohmann::json payload = nlohmann::json::object();
    payload["op"] = std::string("delete");
    payload["kb"] = kb_id;
    payload["doc"] = id;
    std::string key = StrCat("delete/", kb_id, "/", id);
    absl::Status queued = co_await Enqueue(ctx.tenant, payload, key);
    if (!queued.ok()) co_return queued;
    DocumentState state = (*row)->state;
    state.status = kDeleting;
    out.push_back(std::move(state));
  }
  co_return out;
}

void KnowledgeBaseService::StartWorkers(boost::asio::io_context& io) {
  async::LeaseLoopOptions options;
  options.queue = options_.queue;
  options.slots = options_.worker_slots;
  // Short leases, renewed while a job runs (HandleJob), so a crashed
  // process's jobs come back within seconds.
  options.visibility = kLeaseVisibility;
  loop_ = std::make_unique<async::LeaseLoop>(
      *deps_.bus, io, options,
      [this](bus::Job job, const std::atomic<bool>& draining) -> boost::asio::awaitable<void> {
        co_await HandleJob(std::move(job), draining);
      });
  loop_->Start();
  saver_ = std::make_unique<boost::asio::steady_timer>(io);
  auto save_loop = [this]() -> boost::asio::awaitable<void> {
    while (!stopping_.load()) {
      saver_->expires_after(options_.save_interval);
      boost::system::error_code ec;
      co_await saver_->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (stopping_.load()) break;
      co_await SaveAll();
    }
  };
  boost::asio::co_spawn(io, save_loop, boost::asio::detached);
}

void KnowledgeBaseService::Stop() {
  stopping_.store(true);
  if (loop_) loop_->Stop();
  if (saver_) saver_->cancel();
}

bool KnowledgeBaseService::Busy() const { return loop_ && loop_->Busy(); }

boost::asio::awaitable<void> KnowledgeBaseService::SaveAll() {
  std::vector<std::shared_ptr<Generation>> gens;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, rt] : runtimes_) {
      Runtime::View view = rt->Snapshot();
      if (view.deleted) continue;
      if (view.gen) gens.push_back(view.gen);
      if (view.pending) gens.push_back(view.pending);
    }
  }
  for (const std::shared_ptr<Generation>& gen : gens) {
    auto save = [gen]() { return gen->Save(); };
    absl::Status s = co_await deps_.blocking->Run(std::move(save));
    if (!s.ok()) log::Warn("rag: saving an index failed", {{"error", ToStd(s.message())}});
  }
}

boost::asio::awaitable<void> KnowledgeBaseService::HandleJob(bus::Job job,
                                                             const std::atomic<bool>& draining) {
  nlohmann::json payload = nlohmann::json::parse(job.payload, nullptr, false);
  std::string op = payload.is_object() ? payload.value("op", "") : "";
  std::string kb_id = payload.is_object() ? payload.value("kb", "") : "";
  std::string doc_id = payload.is_object() ? payload.value("doc", "") : "";
  RequestContext ctx;
  ctx.tenant = job.tenant;
  ctx.principal = "rag-worker";
  ctx.request_id = job.id;
  std::string flight = StrCat(job.tenant, "\n", kb_id, "\n", op == "reindex" ? "*" : doc_id);
  bool busy = false;
  {
    std::lock_guard lock(mu_);
    busy = !in_flight_.insert(flight).second;
  }
  // Failures so far (busy hand-backs are not failures): kept in the job's
  // last error, since the bus counts every lease as an attempt.
  const nlohmann::json last_error = nlohmann::json::parse(job.error, nullptr, false);
  const int64_t failures = last_error.is_object() && last_error.contains("failures") &&
                                   last_error["failures"].is_number_integer()
                               ? last_error["failures"].get<int64_t>()
                               : 0;
  if (busy) {
    // The same document is being worked on: try again shortly, leaving the
    // queue to other documents meanwhile.
    std::string id = job.id, token = job.lease_token;
    std::string text = nlohmann::json{{"code", "busy"}, {"failures", failures}}.dump();
    std::vector<bus::Event> no_events;
    std::optional<std::chrono::milliseconds> later = kBusyPause;
    (void)co_await deps_.bus->Fail(id, token, text, later, no_events);
    co_return;
  }
  // Renew the lease every third of its visibility until the job ends.
  auto done = std::make_shared<std::atomic<bool>>(false);
  auto timer = std::make_shared<boost::asio::steady_timer>(co_await boost::asio::this_coro::executor);
  auto renew = [this, done, timer, id = job.id, token = job.lease_token]() -> boost::asio::awaitable<void> {
    while (!done->load()) {
      timer->expires_after(kLeaseVisibility / 3);
      boost::system::error_code ec;
      co_await timer->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (done->load()) break;
      std::string lease_id = id, lease_token = token;
      (void)co_await deps_.bus->Extend(lease_id, lease_token, kLeaseVisibility);
    }
  };
  boost::asio::co_spawn(co_await boost::asio::this_coro::executor, renew, boost::asio::detached);
  absl::Status status;
  absl::StatusOr<std::shared_ptr<Runtime>> loaded = co_await Load(ctx, kb_id);
  if (!loaded.ok()) {
    status = absl::IsNotFound(loaded.status()) ? absl::OkStatus() : loaded.status();
  } else if (op == "index") {
    status = co_await IndexDocument(ctx, **loaded, doc_id);
  } else if (op == "delete") {
    status = co_await RemoveDocument(ctx, **loaded, doc_id);
  } else if (op == "reindex") {
    status = co_await Reindex(ctx, **loaded);
  }
  done->store(true);
  timer->cancel();
  {
    std::lock_guard lock(mu_);
    in_flight_.erase(flight);
  }
  std::string id = job.id, token = job.lease_token;
  if (status.ok()) {
    std::string empty = "{}";
    std::vector<bus::Event> no_events;
    (void)co_await deps_.bus->Complete(id, token, empty, no_events);
  } else if (draining.load()) {
    (void)co_await deps_.bus->Release(id, token);
  } else {
    const int64_t failed = failures + 1;
    const bool last = failed >= kMaxFailures;
    log::Warn(last ? "rag: job failed, giving up" : "rag: job failed, will retry",
              {{"job", id}, {"op", op}, {"failures", failed}, {"error", ToStd(status.message())}});
    if (last && (op == "index" || op == "delete") && loaded.ok()) {
      // The job is dead: the document says so instead of staying PENDING.
      std::string reason = StrCat(op == "index" ? "indexing" : "deleting", " failed ", failed,
                                  " times: ", ToStd(status.message()));
      RagDb* db = deps_.db;
      std::string tenant = job.tenant;
      auto mark = [db, tenant, kb_id, doc_id, reason]() {
        return db->SetStatus(tenant, kb_id, doc_id, kFailed, reason);
      };
      (void)co_await deps_.blocking->Run(std::move(mark));
      if (metrics_->documents_failed != nullptr) metrics_->documents_failed->Inc();
    }
    std::string text =
        nlohmann::json{{"message", ToStd(status.message())}, {"failures", failed}}.dump();
    std::vector<bus::Event> no_events;
    // 2 s, 4 s, ... capped at a minute: the retries ride out a provider
    // outage of about 35 minutes before the job is dead.
    std::optional<std::chrono::milliseconds> later;
    if (!last) later = std::chrono::milliseconds(std::min<int64_t>(2000 * failed, 60000));
    (void)co_await deps_.bus->Fail(id, token, text, later, no_events);
  }
}

boost::asio::awaitable<absl::StatusOr<std::vector<Chunk>>> KnowledgeBaseService::ChunkFor(
    const RequestContext& ctx, Runtime& rt, const Extracted& doc, const KbConfig& config,
    Embedder& embedder) {
  absl::StatusOr<ChunkingConfig> chunking = ParseChunkingConfig(config.chunking);
  if (!chunking.ok()) co_return chunking.status();
  if (chunking->strategy != ChunkingStrategy::kSemantic) {
    const Extracted* d = &doc;
    ChunkingConfig c = *chunking;
    auto cut = [d, c]() { return ChunkDocument(*d, c); };
    co_return co_await deps_.blocking->Run(std::move(cut));
  }
  std::vector<SemanticUnit> units = SemanticUnits(doc, *chunking);
  std::vector<std::string> texts;
  texts.reserve(units.size());
  for (const SemanticUnit& u : units) texts.push_back(u.text);
  absl::StatusOr<std::vector<std::vector<float>>> vectors =
      co_await embedder.Embed(ctx, std::move(texts));
  if (!vectors.ok()) co_return vectors.status();
  co_return SemanticChunks(doc, units, *vectors, *chunking);
}

boost::asio::awaitable<absl::StatusOr<int>> KnowledgeBaseService::IndexInto(
    const RequestContext& ctx, Runtime& rt, Generation& gen, const KbConfig& config,
    Embedder& embedder, const std::string& doc_id, int64_t version, const Extracted& doc,
    bool synced) {
  absl::StatusOr<std::vector<Chunk>> chunks = co_await ChunkFor(ctx, rt, doc, config, embedder);
  if (!chunks.ok()) co_return chunks.status();
  std::vector<std::string> texts;
  for (const Chunk& c : *chunks) {
    if (c.searchable) texts.push_back(c.text);
  }
  absl::StatusOr<std::vector<std::vector<float>>> embedded =
      co_await embedder.Embed(ctx, std::move(texts));
  if (!embedded.ok()) co_return embedded.status();
  std::vector<std::vector<float>> vectors(chunks->size());
  for (size_t i = 0, j = 0; i < chunks->size(); ++i) {
    if ((*chunks)[i].searchable) vectors[i] = std::move((*embedded)[j++]);
  }
  RagDb* db = deps_.db;
  std::string tenant = rt.tenant;
  std::string kb = gen.options().kb;
  int64_t number = gen.options().number;
  std::vector<Chunk>* cs = &*chunks;
  Generation* g = &gen;
  auto write = [db, tenant, kb, number, doc_id, version, cs, &vectors, g,
                synced]() -> absl::Status {
    std::vector<NewChunk> rows;
    rows.reserve(cs->size());
    for (size_t i = 0; i < cs->size(); ++i) rows.push_back(NewChunk{&(*cs)[i], vectors[i]});
    absl::StatusOr<std::vector<Label>> labels =
        db->InsertChunks(tenant, kb, number, doc_id, version, rows, synced);
    if (!labels.ok()) return labels.status();
    return g->Add(doc_id, version, *labels, *cs, vectors);
  };
  absl::Status s = co_await deps_.blocking->Run(std::move(write));
  if (!s.ok()) co_return s;
  if (metrics_->chunks_indexed != nullptr) {
    metrics_->chunks_indexed->Inc(static_cast<double>(chunks->size()));
  }
  co_return static_cast<int>(chunks->size());
}

boost::asio::awaitable<absl::Status> KnowledgeBaseService::IndexDocument(
    const RequestContext& ctx, Runtime& rt, const std::string& doc_id) {
  RagDb* db = deps_.db;
  std::string tenant = rt.tenant;
  std::string kb_id = rt.Snapshot().kb.id;
  auto read = [db, tenant, kb_id, doc_id]() -> absl::StatusOr<std::pair<std::optional<DocumentRow>,
                                                                          std::optional<StagedContent>>> {
    absl::StatusOr<std::optional<DocumentRow>> row = db->GetDocument(tenant, kb_id, doc_id);
    if (!row.ok()) return row.status();
    absl::StatusOr<std::optional<StagedContent>> staged = db->Staged(tenant, kb_id, doc_id);
    if (!staged.ok()) return staged.status();
    return std::make_pair(*std::move(row), *std::move(staged));
  };
  auto state = co_await deps_.blocking->Run(std::move(read));
  if (!state.ok()) co_return state.status();
  auto& [row, staged] = *state;
  if (!row.has_value() || !staged.has_value() || row->state.status == kDeleting) {
    co_return absl::OkStatus();  // already done, or deleted since
  }
  auto progress = [db, tenant, kb_id, doc_id]() {
    return db->SetStatus(tenant, kb_id, doc_id, kInProgress, "", /*synced=*/false);
  };
  if (absl::Status s = co_await deps_.blocking->Run(std::move(progress)); !s.ok()) co_return s;

  const extract::ExtractorSet* extractors = deps_.extractors;
  ExtractLimits limits = options_.limits;
  const StagedContent* content = &*staged;
  auto extract = [extractors, content, limits]() {
    return extractors->Extract(content->content, content->mime, limits);
  };
  absl::StatusOr<Extracted> extracted = co_await deps_.blocking->Run(std::move(extract));
  auto fail = [&](const absl::Status& why) -> boost::asio::awaitable<absl::Status> {
    // The document fails; the job is done (a bad file does not get better).
    std::string reason(why.message());
    auto mark = [db, tenant, kb_id, doc_id, reason]() {
      return db->SetStatus(tenant, kb_id, doc_id, kFailed, reason);
    };
    if (metrics_->documents_failed != nullptr) metrics_->documents_failed->Inc();
    co_return co_await deps_.blocking->Run(std::move(mark));
  };
  if (!extracted.ok()) {
    if (absl::IsResourceExhausted(extracted.status())) co_return extracted.status();  // pool full
    co_return co_await fail(extracted.status());
  }
  int64_t version = row->state.version + 1;
  Runtime::View view = rt.Snapshot();
  struct Target {
    std::shared_ptr<Generation> gen;
    std::shared_ptr<Embedder> embedder;
    KbConfig config;
  };
  std::vector<Target> targets = {{view.gen, view.embedder, view.config}};
  if (view.pending) targets.push_back({view.pending, view.pending_embedder, view.pending_config});
  int chunk_count = 0;
  for (const Target& t : targets) {
    absl::StatusOr<int> written =
        co_await IndexInto(ctx, rt, *t.gen, t.config, *t.embedder, doc_id, version, *extracted,
                           /*synced=*/false);  // CommitVersion below is
    if (written.ok()) {
      if (t.gen == view.gen) chunk_count = *written;
      continue;
    }
    absl::Status s = written.status();
    // Rate limits and outages are retried; a refused budget or a bad document is not.
    bool transient = absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) ||
                     (absl::IsResourceExhausted(s) &&
                      s.message().find("budget") == absl::string_view::npos);
    if (transient) co_return s;
    co_return co_await fail(s);
  }
  DocumentState info;
  info.extractor = extracted->extractor;
  info.pages = static_cast<int>(extracted->pages.size());
  info.ocr_pages = extracted->ocr_pages;
  info.chunks = chunk_count;
  std::string extracted_json = ExtractedToJson(*extracted).dump();
  auto commit = [db, tenant, kb_id, doc_id, version, content, extracted_json, info]() {
    return db->CommitVersion(tenant, kb_id, doc_id, version, *content, extracted_json, info);
  };
  if (absl::Status s = co_await deps_.blocking->Run(std::move(commit)); !s.ok()) co_return s;
  LiveDocument live;
  live.id = doc_id;
  live.data_source = row->state.data_source;
  live.source_uri = staged->source_uri;
  live.version = version;
  live.attributes = staged->attributes;
  for (const Target& t : targets) {
    std::vector<Label> stale = t.gen->SetLive(live);
    std::shared_ptr<Generation> gen = t.gen;
    auto remove = [gen, stale]() { return gen->Remove(stale); };
    if (absl::Status s = co_await deps_.blocking->Run(std::move(remove)); !s.ok()) {
      log::Warn("rag: removing replaced chunks failed", {{"error", ToStd(s.message())}});
    }
  }
  if (metrics_->documents_indexed != nullptr) metrics_->documents_indexed->Inc();
  co_return absl::OkStatus();
}

boost::asio::awaitable<absl::Status> KnowledgeBaseService::RemoveDocument(
    const RequestContext& ctx, Runtime& rt, const std::string& doc_id) {
  RagDb* db = deps_.db;
  std::string tenant = rt.tenant;
  Runtime::View view = rt.Snapshot();
  std::string kb_id = view.kb.id;
  for (const std::shared_ptr<Generation>& gen : {view.gen, view.pending}) {
    if (!gen) continue;
    LiveDocument gone;
    gone.id = doc_id;
    gone.version = 0;
    std::vector<Label> stale = gen->SetLive(gone);
    auto remove = [gen, stale]() { return gen->Remove(stale); };
    if (absl::Status s = co_await deps_.blocking->Run(std::move(remove)); !s.ok()) co_return s;
  }
  auto drop = [db, tenant, kb_id, doc_id]() { return db->DeleteDocumentRow(tenant, kb_id, doc_id); };
  co_return co_await deps_.blocking->Run(std::move(drop));
}

boost::asio::awaitable<absl::Status> KnowledgeBaseService::Reindex(const RequestContext& ctx,
                                                                   Runtime& rt) {
  Runtime::View view = rt.Snapshot();
  if (!view.pending) co_return absl::OkStatus();
  RagDb* db = deps_.db;
  std::string tenant = rt.tenant;
  std::string kb_id = view.kb.id;
  // Every live document not yet in the new generation at its live version.
  while (true) {
    auto list = [db, tenant, kb_id]() { return db->LiveDocuments(tenant, kb_id); };
    absl::StatusOr<std::vector<DocumentRow>> docs = co_await deps_.blocking->Run(std::move(list));
    if (!docs.ok()) co_return docs.status();
    int done_now = 0;
    for (const DocumentRow& d : *docs) {
      if (rt.Snapshot().pending != view.pending) co_return absl::OkStatus();  // superseded
      if (view.pending->LiveVersion(d.state.id) == d.state.version) continue;
      std::string id = d.state.id;
      {
        std::lock_guard lock(mu_);
        if (in_flight_.contains(StrCat(tenant, "\n", kb_id, "\n", id))) continue;  // its own job covers it
      }
      auto read = [db, tenant, kb_id, id]() { return db->GetDocument(tenant, kb_id, id); };
      absl::StatusOr<std::optional<DocumentRow>> full = co_await deps_.blocking->Run(std::move(read));
      if (!full.ok()) co_return full.status();
      if (!full->has_value() || (*full)->extracted_json.empty()) continue;
      nlohmann::json ej = nlohmann::json::parse((*full)->extracted_json, nullptr, false);
      if (ej.is_discarded()) continue;
      Extracted extracted = ExtractedFromJson(ej);
      absl::StatusOr<int> written = co_await IndexInto(ctx, rt, *view.pending, view.pending_config,
                                                       *view.pending_embedder, id, d.state.version,
                                                       extracted);
      if (!written.ok()) co_return written.status();
      LiveDocument live;
      live.id = id;
      live.data_source = d.state.data_source;
      live.source_uri = d.state.source_uri;
      live.version = d.state.version;
      live.attributes = d.attributes;
      std::vector<Label> stale = view.pending->SetLive(live);
      std::shared_ptr<Generation> gen = view.pending;
      auto remove = [gen, stale]() { return gen->Remove(stale); };
      (void)co_await deps_.blocking->Run(std::move(remove));
      ++done_now;
    }
    if (done_now == 0) break;
  }
  // Complete: the new generation answers from now on; the old one retires.
  std::shared_ptr<Generation> old;
  KnowledgeBase kb;
  {
    std::lock_guard lock(rt.mu);
    if (rt.pending != view.pending || rt.deleted) co_return absl::OkStatus();
    old = rt.active;
    rt.active = rt.pending;
    rt.active_embedder = rt.pending_embedder;
    rt.active_config = rt.pending_config;
    rt.pending.reset();
    rt.pending_embedder.reset();
    rt.kb.generation = rt.kb.pending_generation;
    rt.kb.pending_generation = 0;
    rt.kb.config = rt.active_config;
    rt.kb.extra.erase("pendingConfig");
    rt.kb.status = "ACTIVE";
    rt.kb.updated_ms = NowMs();
    kb = rt.kb;
  }
  if (absl::Status s = co_await SaveKnowledgeBase(tenant, kb, false); !s.ok()) co_return s;
  int64_t number = old->options().number;
  auto retire = [db, tenant, kb_id, old, number]() {
    absl::Status s = db->DeleteGeneration(tenant, kb_id, number);
    if (s.ok()) s = old->DeleteFiles();
    return s;
  };
  co_return co_await deps_.blocking->Run(std::move(retire));
}

}  // namespace basalt::rag
