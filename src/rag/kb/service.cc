#include "rag/kb/service.h"

#include <openssl/rand.h>

#include <filesystem>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/log.h"
#include "core/strings.h"
#include "rag/kb/gate_embedder.h"
#include "rag/kb/kb_json.h"
#include "rag/kb/runtime.h"

namespace basalt::rag {
namespace fs = std::filesystem;

constexpr const char* kKbCollection = "rag_knowledge_bases";
constexpr const char* kSourceCollection = "rag_data_sources";

std::string NewResourceId() {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  unsigned char bytes[10];
  RAND_bytes(bytes, sizeof(bytes));
  std::string id(10, '0');
  for (int i = 0; i < 10; ++i) id[i] = kAlphabet[bytes[i] % 36];
  return id;
}

std::string RuntimeKey(std::string_view tenant, std::string_view kb) {
  return StrCat(tenant, "\n", kb);
}

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string HexOf(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

absl::Status ValidName(std::string_view name, std::string_view field) {
  if (name.empty() || name.size() > 100) {
    return absl::InvalidArgumentError(StrCat(field, ": must be 1..100 characters"));
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return absl::InvalidArgumentError(
          StrCat(field, ": may hold only letters, digits, '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace


KnowledgeBaseService::KnowledgeBaseService(RagDeps deps, RagOptions options)
    : deps_(deps), options_(std::move(options)), metrics_(std::make_unique<Metrics>()) {
  if (deps_.registry != nullptr) {
    metrics::Registry& r = *deps_.registry;
    metrics_->documents_indexed = &r.Counter("basalt_rag_documents_indexed_total",
                                             "Documents indexed (new or changed content)")
                                       .With({});
    metrics_->documents_failed =
        &r.Counter("basalt_rag_documents_failed_total", "Documents whose ingestion failed").With({});
    metrics_->chunks_indexed = &r.Counter("basalt_rag_chunks_indexed_total", "Chunks indexed").With({});
    metrics_->queries = &r.Counter("basalt_rag_queries_total", "Retrieve and answer calls").With({});
    metrics_->abstained = &r.Counter("basalt_rag_abstentions_total",
                                     "Answers withheld below the confidence threshold")
                              .With({});
  }
}

KnowledgeBaseService::~KnowledgeBaseService() { Stop(); }

std::string KnowledgeBaseService::KbDir(const std::string& tenant, const std::string& kb,
                                        int64_t gen) const {
  if (options_.data_dir.empty()) return "";
  return (fs::path(options_.data_dir) / "rag" / HexOf(tenant) / kb / StrCat("g", gen)).string();
}

boost::asio::awaitable<absl::StatusOr<std::unique_ptr<Generation>>>
KnowledgeBaseService::OpenGeneration(const std::string& tenant, const KnowledgeBase& kb,
                                     int64_t number) {
  GenerationOptions options;
  options.dir = KbDir(tenant, kb.id, number);
  options.tenant = tenant;
  options.kb = kb.id;
  options.number = number;
  options.dimensions = kb.config.dimensions;
  options.hnsw_m = kb.config.hnsw_m;
  options.ef_construction = kb.config.ef_construction;
  options.ef_search = kb.config.ef_search;
  RagDb* db = deps_.db;
  auto open = [options, db]() { return Generation::Open(options, *db); };
  co_return co_await deps_.blocking->Run(std::move(open));
}

boost::asio::awaitable<absl::StatusOr<std::shared_ptr<KnowledgeBaseService::Runtime>>>
KnowledgeBaseService::Load(const RequestContext& ctx, const std::string& kb_id) {
  std::string key = RuntimeKey(ctx.tenant, kb_id);
  {
    std::lock_guard lock(mu_);
    auto it = runtimes_.find(key);
    if (it != runtimes_.end()) co_return it->second;
  }
  absl::StatusOr<Record> record = co_await deps_.store->Get(ctx.tenant, kKbCollection, kb_id);
  if (!record.ok()) {
    if (absl::IsNotFound(record.status())) {
      co_return absl::NotFoundError(StrCat("knowledge base ", kb_id, " not found"));
    }
    co_return record.status();
  }
  nlohmann::json body = nlohmann::json::parse(record->body, nullptr, false);
  absl::StatusOr<KnowledgeBase> kb = KnowledgeBaseFromJson(body);
  if (!kb.ok()) co_return kb.status();
  auto rt = std::make_shared<Runtime>();
  rt->tenant = ctx.tenant;
  rt->kb = *kb;
  rt->active_config = kb->config;
  absl::StatusOr<std::unique_ptr<Generation>> active =
      co_await OpenGeneration(ctx.tenant, *kb, kb->generation);
  if (!active.ok()) co_return active.status();
  rt->active = std::move(*active);
  rt->active_embedder = std::make_shared<GateEmbedder>(*deps_.models, kb->config.embedding_model,
                                                       kb->config.dimensions);
  if (kb->pending_generation > 0) {
    KnowledgeBase pending_kb = *kb;
    pending_kb.config = KbConfigFromJson(kb->extra.value("pendingConfig", nlohmann::json::object()),
                                         kb->config, "config")
                            .value_or(kb->config);
    absl::StatusOr<std::unique_ptr<Generation>> pending =
        co_await OpenGeneration(ctx.tenant, pending_kb, kb->pending_generation);
    if (!pending.ok()) co_return pending.status();
    rt->pending = std::move(*pending);
    rt->pending_config = pending_kb.config;
    rt->pending_embedder = std::make_shared<GateEmbedder>(
        *deps_.models, pending_kb.config.embedding_model, pending_kb.config.dimensions);
  }
  std::lock_guard lock(mu_);
  auto [it, inserted] = runtimes_.emplace(key, rt);
  co_return it->second;
}

boost::asio::awaitable<absl::Status> KnowledgeBaseService::SaveKnowledgeBase(
    const std::string& tenant, const KnowledgeBase& kb, bool create) {
  std::string body = KnowledgeBaseToJson(kb).dump();
  if (create) {
    absl::StatusOr<Record> r = co_await deps_.store->Create(tenant, kKbCollection, kb.id, body);
    co_return r.status();
  }
  absl::StatusOr<Record> r = co_await deps_.store->Update(tenant, kKbCollection, kb.id, body, 0);
  co_return r.status();
}

boost::asio::awaitable<absl::StatusOr<KnowledgeBase>> KnowledgeBaseService::CreateKnowledgeBase(
    const RequestContext& ctx, KnowledgeBase draft) {
  if (absl::Status s = ValidName(draft.name, "name"); !s.ok()) co_return s;
  if (draft.description.size() > 200) {
    co_return absl::InvalidArgumentError("description: must be at most 200 characters");
  }
  if (draft.config.embedding_model.empty()) {
    draft.config.embedding_model = options_.default_embedding_model;
  }
  // Parse the chunking once so a bad one fails here, naming the field.
  absl::StatusOr<KbConfig> checked = KbConfigFromJson(
      {{"chunking", draft.config.chunking}}, draft.config, "config");
  if (!checked.ok()) co_return checked.status();
  draft.config = *checked;
  // The embedder's dimension, from one call (metered like any other).
  GateEmbedder probe(*deps_.models, draft.config.embedding_model, draft.config.dimensions, 1);
  std::vector<std::string> probe_text(1, std::string("dimension probe"));
  absl::StatusOr<std::vector<std::vector<float>>> v = co_await probe.Embed(ctx, probe_text);
  if (!v.ok()) {
    co_return absl::Status(v.status().code(),
                           StrCat("config.embeddingModel: ", draft.config.embedding_model,
                                  " cannot embed: ", ToStd(v.status().message())));
  }
  draft.config.dimensions = probe.dimensions();
  draft.id = NewResourceId();
  draft.status = "ACTIVE";
  draft.generation = 1;
  draft.pending_generation = 0;
  draft.created_ms = draft.updated_ms = NowMs();
  if (absl::Status s = co_await SaveKnowledgeBase(ctx.tenant, draft, true); !s.ok()) co_return s;
  // Every knowledge base has a CUSTOM data source for documents sent inline.
  DataSource inline_source;
  inline_source.kb = draft.id;
  inline_source.name = "inline";
  inline_source.description = "Documents sent through the API";
  absl::StatusOr<DataSource> created = co_await CreateDataSource(ctx, inline_source);
  if (!created.ok()) co_return created.status();
  draft.extra["defaultDataSource"] = created->id;
  if (absl::Status s = co_await SaveKnowledgeBase(ctx.tenant, draft, false); !s.ok()) co_return s;
  co_return draft;
}

boost::asio::awaitable<absl::StatusOr<KnowledgeBase>> KnowledgeBaseService::GetKnowledgeBase(
    const RequestContext& ctx, std::string id) {
  absl::StatusOr<std::shared_ptr<Runtime>> rt = co_await Load(ctx, id);
  if (!rt.ok()) co_return rt.status();
  Runtime::View view = (*rt)->Snapshot();
  if (view.deleted) co_return absl::NotFoundError(StrCat("knowledge base ", id, " not found"));
  co_return view.kb;
}

boost::asio::awaitable<absl::StatusOr<Page<KnowledgeBase>>>
KnowledgeBaseService::ListKnowledgeBases(const RequestContext& ctx, std::string after,
                                         int limit) {
  ListOptions options;
  options.after_id = after;
  options.limit = std::clamp(limit, 1, 1000);
  absl::StatusOr<RecordPage> page = co_await deps_.store->List(ctx.tenant, kKbCollection, options.after_id, options.limit);
  if (!page.ok()) co_return page.status();
  Page<KnowledgeBase> out;
  for (const Record& r : page->records) {
    absl::StatusOr<KnowledgeBase> kb =
        KnowledgeBaseFromJson(nlohmann::json::parse(r.body, nullptr, false));
    if (kb.ok()) out.items.push_back(*std::move(kb));
  }
  out.next = page->next_cursor;
  co_return out;
}

boost::asio::awaitable<absl::StatusOr<KnowledgeBase>> KnowledgeBaseService::UpdateKnowledgeBase(
    const RequestContext& ctx, std::string id, nlohmann::json patch) {
  absl::StatusOr<std::shared_ptr<Runtime>> loaded = co_await Load(ctx, id);
  if (!loaded.ok()) co_return loaded.status();
  Runtime& rt = **loaded;
  Runtime::View view = rt.Snapshot();
  if (view.deleted) co_return absl::NotFoundError(StrCat("knowledge base ", id, " not found"));
  KnowledgeBase kb = view.kb;
  if (patch.contains("name")) {
    if (!patch["name"].is_string()) co_return absl::InvalidArgumentError("name: must be a string");
    kb.name = patch["name"].get<std::string>();
    if (absl::Status s = ValidName(kb.name, "name"); !s.ok()) co_return s;
  }
  if (patch.contains("description")) {
    if (!patch["description"].is_string()) {
      co_return absl::InvalidArgumentError("description: must be a string");
    }
    kb.description = patch["description"].get<std::string>();
  }
  if (patch.contains("roleArn") && patch["roleArn"].is_string()) {
    kb.role_arn = patch["roleArn"].get<std::string>();
  }
  KbConfig target = kb.pending_generation > 0 ? view.pending_config : kb.config;
  if (patch.contains("config")) {
    nlohmann::json cfg = patch["config"];
    if (cfg.is_object() && cfg.contains("dimensions")) cfg.erase("dimensions");
    absl::StatusOr<KbConfig> next = KbConfigFromJson(cfg, target, "config");
    if (!next.ok()) co_return next.status();
    if (next->embedding_model != target.embedding_model) {
      GateEmbedder probe(*deps_.models, next->embedding_model, 0, 1);
      std::vector<std::string> probe_text(1, std::string("dimension probe"));
      absl::StatusOr<std::vector<std::vector<float>>> v = co_await probe.Embed(ctx, probe_text);
      if (!v.ok()) {
        co_return absl::Status(v.status().code(),
                               StrCat("config.embeddingModel: ", next->embedding_model,
                                      " cannot embed: ", ToStd(v.status().message())));
      }
      next->dimensions = probe.dimensions();
    }
    target = *next;
  }
  bool reindex = NeedsReindex(view.pending ? view.pending_config : kb.config, target);
  if (!reindex && !view.pending) {
    kb.config = target;  // query-time settings apply at once
  } else if (!reindex && view.pending) {
    kb.extra["pendingConfig"] = KbConfigToJson(target);
  }
  kb.updated_ms = NowMs();
  std::shared_ptr<Generation> fresh;
  if (reindex) {
    // A new generation; a re-index already running is superseded.
    int64_t number = std::max(kb.generation, kb.pending_generation) + 1;
    KnowledgeBase shaped = kb;
    shaped.config = target;
    absl::StatusOr<std::unique_ptr<Generation>> gen =
        co_await OpenGeneration(ctx.tenant, shaped, number);
    if (!gen.ok()) co_return gen.status();
    fresh = std::move(*gen);
    kb.pending_generation = number;
    kb.extra["pendingConfig"] = KbConfigToJson(target);
    kb.status = "UPDATING";
  }
  if (absl::Status s = co_await SaveKnowledgeBase(ctx.tenant, kb, false); !s.ok()) co_return s;
  std::shared_ptr<Generation> superseded;
  {
    std::lock_guard lock(rt.mu);
    rt.kb = kb;
    if (!view.pending || !reindex) rt.active_config = kb.config;
    if (reindex) {
      superseded = std::move(rt.pending);
      rt.pending = fresh;
      rt.pending_config = target;
      rt.pending_embedder =
          std::make_shared<GateEmbedder>(*deps_.models, target.embedding_model, target.dimensions);
    } else if (view.pending) {
      rt.pending_config = target;
    }
  }
  if (superseded) {
    int64_t number = superseded->options().number;
    RagDb* db = deps_.db;
    std::string tenant = ctx.tenant;
    auto retire = [superseded, db, tenant, id, number]() {
      absl::Status s = db->DeleteGeneration(tenant, id, number);
      if (s.ok()) s = superseded->DeleteFiles();
      return s;
    };
    absl::Status s = co_await deps_.blocking->Run(std::move(retire));
    if (!s.ok()) log::Warn("rag: could not retire a superseded generation", {{"error", ToStd(s.message())}});
  }
  if (reindex) {
    nlohmann::json payload = nlohmann::json::object();
    payload["op"] = std::string("reindex");
    payload["kb"] = id;
    std::string key = StrCat("reindex/", id, "/", kb.pending_generation);
    absl::Status queued = co_await Enqueue(ctx.tenant, payload, key);
    if (!queued.ok()) co_return queued;
  }
  co_return kb;
}

boost::asio::awaitable<absl::StatusOr<KnowledgeBase>> KnowledgeBaseService::DeleteKnowledgeBase(
    const RequestContext& ctx, std::string id) {
  absl::StatusOr<std::shared_ptr<Runtime>> loaded = co_await Load(ctx, id);
  if (!loaded.ok()) co_return loaded.status();
  Runtime& rt = **loaded;
  KnowledgeBase kb;
  std::shared_ptr<Generation> active, pending;
  {
    std::lock_guard lock(rt.mu);
    if (rt.deleted) co_return absl::NotFoundError(StrCat("knowledge base ", id, " not found"));
    rt.deleted = true;
    kb = rt.kb;
    active = rt.active;
    pending = rt.pending;
  }
  kb.status = "DELETING";
  // The record goes first: from here the knowledge base is gone for every
  // caller; its rows and files follow.
  absl::Status s = co_await deps_.store->Delete(ctx.tenant, kKbCollection, id);
  if (!s.ok() && !absl::IsNotFound(s)) co_return s;
  ListOptions options;
  options.after_id = StrCat(id, ".");
  while (true) {
    absl::StatusOr<RecordPage> page =
        co_await deps_.store->List(ctx.tenant, kSourceCollection, options.after_id, options.limit);
    if (!page.ok()) break;
    bool done = page->records.empty();
    for (const Record& r : page->records) {
      if (r.id.rfind(StrCat(id, "."), 0) != 0) {
        done = true;
        break;
      }
      (void)co_await deps_.store->Delete(ctx.tenant, kSourceCollection, r.id);
    }
    if (done || page->next_cursor.empty()) break;
    options.after_id = page->next_cursor;
  }
  RagDb* db = deps_.db;
  std::string tenant = ctx.tenant;
  std::string dir = KbDir(ctx.tenant, id, 0);
  auto remove = [db, tenant, id, active, pending, dir]() {
    absl::Status st = db->DeleteKnowledgeBase(tenant, id);
    if (active) (void)active->DeleteFiles();
    if (pending) (void)pending->DeleteFiles();
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(fs::path(dir).parent_path(), ec);
    return st;
  };
  s = co_await deps_.blocking->Run(std::move(remove));
  {
    std::lock_guard lock(mu_);
    runtimes_.erase(RuntimeKey(ctx.tenant, id));
  }
  if (!s.ok()) co_return s;
  co_return kb;
}

boost::asio::awaitable<absl::StatusOr<DataSource>> KnowledgeBaseService::CreateDataSource(
    const RequestContext& ctx, DataSource draft) {
  if (absl::Status s = ValidName(draft.name, "name"); !s.ok()) co_return s;
  if (draft.type != "CUSTOM" && draft.type != "LOCAL_DIRECTORY") {
    co_return absl::InvalidArgumentError(
        "dataSourceConfiguration.type: basalt serves CUSTOM and LOCAL_DIRECTORY sources");
  }
  if (draft.type == "LOCAL_DIRECTORY") {
    std::error_code ec;
    fs::path dir = fs::weakly_canonical(draft.directory, ec);
    bool allowed = false;
    for (const std::string& root : options_.allowed_directories) {
      fs::path r = fs::weakly_canonical(root, ec);
      auto rel = dir.lexically_relative(r);
      if (!rel.empty() && *rel.begin() != "..") allowed = true;
    }
    if (draft.directory.empty() || !allowed) {
      co_return absl::PermissionDeniedError(
          StrCat("dataSourceConfiguration.localDirectory: ", draft.directory,
                 " is not under a directory listed in rag.allowed_directories"));
    }
    draft.directory = dir.string();
  }
  // The knowledge base must exist for this tenant.
  if (draft.name != "inline") {
    absl::StatusOr<std::shared_ptr<Runtime>> rt = co_await Load(ctx, draft.kb);
    if (!rt.ok()) co_return rt.status();
  }
  draft.id = NewResourceId();
  draft.status = "AVAILABLE";
  draft.created_ms = draft.updated_ms = NowMs();
  absl::StatusOr<Record> r = co_await deps_.store->Create(
      ctx.tenant, kSourceCollection, StrCat(draft.kb, ".", draft.id), DataSourceToJson(draft).dump());
  if (!r.ok()) co_return r.status();
  co_return draft;
}

boost::asio::awaitable<absl::StatusOr<DataSource>> KnowledgeBaseService::GetDataSource(
    const RequestContext& ctx, std::string kb, std::string id) {
  absl::StatusOr<Record> r =
      co_await deps_.store->Get(ctx.tenant, kSourceCollection, StrCat(kb, ".", id));
  if (!r.ok()) {
    if (absl::IsNotFound(r.status())) {
      co_return absl::NotFoundError(StrCat("data source ", id, " not found in knowledge base ", kb));
    }
    co_return r.status();
  }
  co_return DataSourceFromJson(nlohmann::json::parse(r->body, nullptr, false));
}

boost::asio::awaitable<absl::StatusOr<Page<DataSource>>> KnowledgeBaseService::ListDataSources(
    const RequestContext& ctx, std::string kb, std::string after, int limit) {
  absl::StatusOr<std::shared_ptr<Runtime>> rt = co_await Load(ctx, kb);
  if (!rt.ok()) co_return rt.status();
  ListOptions options;
  options.after_id = after.empty() ? StrCat(kb, ".") : StrCat(kb, ".", after);
  options.limit = std::clamp(limit, 1, 1000);
  absl::StatusOr<RecordPage> page =
      co_await deps_.store->List(ctx.tenant, kSourceCollection, options.after_id, options.limit);
  if (!page.ok()) co_return page.status();
  Page<DataSource> out;
  for (const Record& r : page->records) {
    if (r.id.rfind(StrCat(kb, "."), 0) != 0) break;
    absl::StatusOr<DataSource> s = DataSourceFromJson(nlohmann::json::parse(r.body, nullptr, false));
    if (s.ok()) out.items.push_back(*std::move(s));
  }
  if (!page->next_cursor.empty() && out.items.size() == page->records.size() && !out.items.empty()) {
    out.next = out.items.back().id;
  }
  co_return out;
}

boost::asio::awaitable<absl::StatusOr<DataSource>> KnowledgeBaseService::DeleteDataSource(
    const RequestContext& ctx, std::string kb, std::string id) {
  absl::StatusOr<DataSource> source = co_await GetDataSource(ctx, kb, id);
  if (!source.ok()) co_return source.status();
  // Its documents go with it.
  std::string after;
  while (true) {
    absl::StatusOr<Page<DocumentState>> docs = co_await ListDocuments(ctx, kb, id, after, 100);
    if (!docs.ok()) co_return docs.status();
    std::vector<std::string> ids;
    for (const DocumentState& d : docs->items) ids.push_back(d.id);
    if (!ids.empty()) {
      absl::StatusOr<std::vector<DocumentState>> deleted = co_await DeleteDocuments(ctx, kb, id, ids);
      if (!deleted.ok()) co_return deleted.status();
    }
    if (docs->next.empty()) break;
    after = docs->next;
  }
  absl::Status s = co_await deps_.store->Delete(ctx.tenant, kSourceCollection, StrCat(kb, ".", id));
  if (!s.ok()) co_return s;
  source->status = "DELETING";
  co_return *source;
}

boost::asio::awaitable<absl::Status> KnowledgeBaseService::AdminDeleteTenant(std::string tenant) {
  {
    std::lock_guard lock(mu_);
    for (auto it = runtimes_.begin(); it != runtimes_.end();) {
      if (it->first.rfind(StrCat(tenant, "\n"), 0) == 0) {
        std::lock_guard rt_lock(it->second->mu);
        it->second->deleted = true;
        it = runtimes_.erase(it);
      } else {
        ++it;
      }
    }
  }
  RagDb* db = deps_.db;
  std::string dir = options_.data_dir.empty()
                        ? std::string()
                        : (fs::path(options_.data_dir) / "rag" / HexOf(tenant)).string();
  auto remove = [db, tenant, dir]() {
    absl::Status s = db->AdminDeleteTenant(tenant);
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
    return s;
  };
  co_return co_await deps_.blocking->Run(std::move(remove));
}

}  // namespace basalt::rag
