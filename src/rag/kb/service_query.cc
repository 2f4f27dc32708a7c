// KnowledgeBaseService: retrieval, grounded answers, sessions, ingestion jobs.
#include <filesystem>
#include <fstream>

#include "core/ids.h"
#include "core/strings.h"
#include "rag/answer/citations.h"
#include "rag/answer/confidence.h"
#include "rag/answer/prompt.h"
#include "rag/extract/mime_detect.h"
#include "rag/filter/fusion.h"
#include "rag/filter/retrieval_filter.h"
#include "rag/kb/kb_json.h"
#include "rag/kb/runtime.h"
#include "rag/kb/service.h"

namespace basalt::rag {
namespace fs = std::filesystem;

namespace {

constexpr const char* kSessionCollection = "rag_sessions";
constexpr size_t kMaxDirectoryFiles = 100000;  // per directory data source
constexpr size_t kMaxJobFailures = 100;        // failure reasons kept per ingestion job

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The builtin term-overlap cross-check: re-orders hits by the share of query
// terms each chunk holds, ties kept in fused order.
void CrossCheck(std::string_view query, std::vector<RetrievedChunk>& chunks) {
  auto terms = [](std::string_view text) {
    std::set<std::string> out;
    std::string word;
    for (char c : text) {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      } else if (!word.empty()) {
        if (word.size() > 2) out.insert(word);
        word.clear();
      }
    }
    if (word.size() > 2) out.insert(word);
    return out;
  };
  std::set<std::string> q = terms(query);
  if (q.empty()) return;
  std::vector<std::pair<double, size_t>> order;
  for (size_t i = 0; i < chunks.size(); ++i) {
    std::set<std::string> c = terms(chunks[i].text);
    double hit = 0;
    for (const std::string& t : q) hit += c.contains(t) ? 1 : 0;
    order.emplace_back(-(hit / static_cast<double>(q.size())) - chunks[i].score * 1e-6, i);
  }
  std::stable_sort(order.begin(), order.end());
  std::vector<RetrievedChunk> sorted;
  for (const auto& [score, i] : order) sorted.push_back(std::move(chunks[i]));
  chunks = std::move(sorted);
}

}  // namespace

boost::asio::awaitable<absl::StatusOr<RetrieveResult>> KnowledgeBaseService::Retrieve(
    const RequestContext& ctx, RetrieveRequest request) {
  absl::StatusOr<std::shared_ptr<Runtime>> loaded = co_await Load(ctx, request.kb);
  if (!loaded.ok()) co_return loaded.status();
  co_return co_await RetrieveIn(ctx, **loaded, request);
}

boost::asio::awaitable<absl::StatusOr<RetrieveResult>> KnowledgeBaseService::RetrieveIn(
    const RequestContext& ctx, Runtime& rt, const RetrieveRequest& request) {
  if (metrics_->queries != nullptr) metrics_->queries->Inc();
  if (request.query.empty()) co_return absl::InvalidArgumentError("retrievalQuery.text: must not be empty");
  if (request.query.size() > 20000) {
    co_return absl::InvalidArgumentError("retrievalQuery.text: must be at most 20000 bytes");
  }
  if (request.k < 1 || request.k > options_.max_results) {
    co_return absl::InvalidArgumentError(
        StrCat("numberOfResults: must be 1..", options_.max_results));
  }
  Runtime::View view = rt.Snapshot();
  if (view.deleted) co_return absl::NotFoundError(StrCat("knowledge base ", request.kb, " not found"));
  std::optional<RetrievalFilter> filter;
  if (request.filter.has_value()) {
    absl::StatusOr<RetrievalFilter> compiled = RetrievalFilter::Compile(*request.filter);
    if (!compiled.ok()) co_return compiled.status();
    filter = *std::move(compiled);
  }
  absl::StatusOr<FusionOptions> fusion = EffectiveFusion(view.config);
  if (!fusion.ok()) co_return fusion.status();
  if (request.hybrid.has_value()) {
    fusion = ParseFusionOptions(*request.hybrid, *fusion);
    if (!fusion.ok()) co_return fusion.status();
  }
  SearchType type = request.search_type.value_or(SearchType::kHybrid);
  GenerationQuery query;
  query.k = request.k;
  query.ef = view.config.ef_search;  // applies at once, without a re-index
  query.filter = filter ? &*filter : nullptr;
  query.fusion = *fusion;
  if (type != SearchType::kKeyword) {
    std::vector<std::string> texts(1, request.query);
    absl::StatusOr<std::vector<std::vector<float>>> v = co_await view.embedder->Embed(ctx, texts);
    if (!v.ok()) co_return v.status();
    query.vector = std::move((*v)[0]);
  }
  if (type != SearchType::kSemantic) query.text = request.query;
  std::shared_ptr<Generation> gen = view.gen;
  RagDb* db = deps_.db;
  std::string tenant = rt.tenant;
  std::string kb_id = view.kb.id;
  const GenerationQuery* q = &query;
  auto search = [gen, q, db, tenant, kb_id]() -> absl::StatusOr<RetrieveResult> {
    absl::StatusOr<GenerationResult> found = gen->Search(*q);
    if (!found.ok()) return found.status();
    RetrieveResult out;
    out.generation = gen->options().number;
    out.passing = found->passing;
    std::vector<Label> labels;
    for (const GenerationHit& h : found->hits) labels.push_back(h.parent != 0 ? h.parent : h.label);
    absl::StatusOr<std::vector<std::string>> texts = db->ChunkTexts(tenant, kb_id, labels);
    if (!texts.ok()) return texts.status();
    std::set<Label> seen;
    for (size_t i = 0; i < found->hits.size(); ++i) {
      const GenerationHit& h = found->hits[i];
      if (!seen.insert(labels[i]).second) continue;  // children of one parent: the parent once
      RetrievedChunk c;
      c.label = labels[i];
      c.text = std::move((*texts)[i]);
      c.document_id = h.doc_id;
      c.doc_version = h.doc_version;
      c.begin = h.begin;
      c.end = h.end;
      c.pages = h.pages;
      c.score = h.score;
      c.vector_score = h.vector_score;
      c.text_score = h.text_score;
      std::optional<LiveDocument> doc = gen->DocumentCopy(h.doc_id);
      if (doc) {
        c.data_source = doc->data_source;
        c.source_uri = doc->source_uri;
        c.attributes = doc->attributes;
      }
      out.chunks.push_back(std::move(c));
    }
    return out;
  };
  absl::StatusOr<RetrieveResult> result = co_await deps_.blocking->Run(std::move(search));
  if (result.ok() && request.rerank) CrossCheck(request.query, result->chunks);
  co_return result;
}

namespace {

std::vector<Passage> PassagesOf(const std::vector<RetrievedChunk>& chunks) {
  std::vector<Passage> out;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const RetrievedChunk& c = chunks[i];
    Passage p;
    p.number = static_cast<int>(i + 1);
    p.text = c.text;
    p.document_id = c.document_id;
    p.source_uri = c.source_uri;
    p.begin = c.begin;
    p.end = c.end;
    p.pages = c.pages;
    p.score = c.score;
    if (c.vector_score != 0) p.vector_score = c.vector_score;
    if (c.text_score != 0) p.text_score = c.text_score;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

// The conversation so far, and where it is kept.
struct SessionState {
  std::vector<models::Message> history;
  bool exists = false;
};

static boost::asio::awaitable<SessionState> LoadSession(AsyncStore& store, const std::string& tenant,
                                                        const std::string& id) {
  SessionState state;
  if (id.empty()) co_return state;
  absl::StatusOr<Record> r = co_await store.Get(tenant, kSessionCollection, id);
  if (!r.ok()) co_return state;
  state.exists = true;
  nlohmann::json body = nlohmann::json::parse(r->body, nullptr, false);
  for (const auto& turn : body.value("turns", nlohmann::json::array())) {
    models::Message m;
    m.role = turn.value("role", "user") == "assistant" ? models::Role::kAssistant : models::Role::kUser;
    m.content.push_back(models::ContentBlock::Text(turn.value("text", "")));
    state.history.push_back(std::move(m));
  }
  co_return state;
}

static boost::asio::awaitable<absl::Status> SaveSession(AsyncStore& store,
                                                        const std::string& tenant,
                                                        const std::string& id, bool exists,
                                                        std::vector<models::Message> history,
                                                        size_t keep_turns) {
  nlohmann::json turns = nlohmann::json::array();
  size_t start = history.size() > keep_turns * 2 ? history.size() - keep_turns * 2 : 0;
  for (size_t i = start; i < history.size(); ++i) {
    std::string text;
    for (const models::ContentBlock& b : history[i].content) text += b.text;
    turns.push_back({{"role", history[i].role == models::Role::kAssistant ? "assistant" : "user"},
                     {"text", text}});
  }
  std::string body = nlohmann::json{{"turns", turns}, {"updatedMs", NowMs()}}.dump();
  if (exists) {
    absl::StatusOr<Record> r = co_await store.Update(tenant, kSessionCollection, id, body, 0);
    co_return r.status();
  }
  absl::StatusOr<Record> r = co_await store.Create(tenant, kSessionCollection, id, body);
  co_return r.status();
}

boost::asio::awaitable<absl::StatusOr<AnswerResult>> KnowledgeBaseService::Answer(
    const RequestContext& ctx, AnswerRequest request) {
  absl::StatusOr<std::shared_ptr<Runtime>> loaded = co_await Load(ctx, request.retrieve.kb);
  if (!loaded.ok()) co_return loaded.status();
  Runtime& rt = **loaded;
  Runtime::View view = rt.Snapshot();
  SessionState session = co_await LoadSession(*deps_.store, ctx.tenant, request.session_id);
  if (!request.session_id.empty() && !session.exists) {
    co_return absl::NotFoundError(StrCat("sessionId: session ", request.session_id, " not found"));
  }
  // A follow-up question is retrieved with the previous question beside it,
  // so "and what about its side effects?" still finds its subject.
  RetrieveRequest retrieve = request.retrieve;
  std::string question = retrieve.query;
  if (!session.history.empty()) {
    for (auto it = session.history.rbegin(); it != session.history.rend(); ++it) {
      if (it->role == models::Role::kUser && !it->content.empty()) {
        retrieve.query = StrCat(it->content[0].text, " ", retrieve.query);
        break;
      }
    }
  }
  absl::StatusOr<RetrieveResult> retrieved = co_await RetrieveIn(ctx, rt, retrieve);
  if (!retrieved.ok()) co_return retrieved.status();
  AnswerResult result;
  result.session_id = request.session_id.empty() ? NewId("ses_") : request.session_id;
  result.sources = retrieved->chunks;
  std::vector<Passage> passages = PassagesOf(result.sources);
  PromptOptions prompt;
  if (request.prompt_template) prompt.prompt_template = *request.prompt_template;
  double threshold = request.abstain_threshold.value_or(view.config.abstain_threshold);
  std::string answer_text;
  if (!passages.empty()) {
    models::ChatRequest chat = BuildAnswerRequest(question, passages, session.history, prompt);
    chat.model = !request.model.empty()                   ? request.model
                 : !view.config.generation_model.empty() ? view.config.generation_model
                                                         : options_.default_generation_model;
    chat.max_tokens = request.max_tokens;
    chat.temperature = request.temperature;
    absl::StatusOr<models::ChatResponse> response = co_await deps_.models->Chat(ctx, chat);
    if (!response.ok()) co_return response.status();
    for (const models::ContentBlock& b : response->content) answer_text += b.text;
    result.model = response->model;
    result.input_tokens = response->usage.input_tokens;
    result.output_tokens = response->usage.output_tokens;
  }
  GroundedAnswer grounded = Ground(answer_text, passages);
  result.grounding = grounded.grounding;
  result.confidence = passages.empty() ? 0 : Confidence(passages, grounded.grounding, question);
  bool no_answer = passages.empty() || IsNoAnswer(grounded.text, prompt.no_answer_text);
  if (no_answer || ShouldAbstain(result.confidence, threshold)) {
    result.abstained = true;
    result.text = prompt.no_answer_text;
    if (metrics_->abstained != nullptr) metrics_->abstained->Inc();
  } else {
    result.text = grounded.text;
    for (const Citation& c : grounded.citations) {
      if (c.spans.empty()) continue;
      AnswerCitation ac;
      ac.begin = c.answer_begin;
      ac.end = c.answer_end;
      for (const CitedSpan& s : c.spans) {
        ac.references.push_back(CitedReference{s.passage_number - 1, s.begin, s.end});
      }
      result.citations.push_back(std::move(ac));
    }
  }
  std::vector<models::Message> history = std::move(session.history);
  models::Message asked;
  asked.role = models::Role::kUser;
  asked.content.push_back(models::ContentBlock::Text(question));
  history.push_back(std::move(asked));
  models::Message answered;
  answered.role = models::Role::kAssistant;
  answered.content.push_back(models::ContentBlock::Text(result.text));
  history.push_back(std::move(answered));
  absl::Status saved = co_await SaveSession(*deps_.store, ctx.tenant, result.session_id,
                                            session.exists, std::move(history),
                                            static_cast<size_t>(options_.session_turns));
  if (!saved.ok()) co_return saved;
  co_return result;
}

// Streaming: the answer is produced whole (grounding needs all of it) and then
// released as deltas of about a sentence, then the citations. A model that
// streams would let the first words arrive earlier; withholding text that
// might be replaced by an abstention is what makes this shape honest.
class AnswerStreamImpl final : public AnswerStream {
 public:
  explicit AnswerStreamImpl(AnswerResult result) : result_(std::move(result)) {}
  boost::asio::awaitable<absl::StatusOr<std::optional<std::string>>> Next() override {
    if (pos_ >= result_.text.size()) co_return std::optional<std::string>();
    size_t end = result_.text.find_first_of(".!?\n", pos_);
    end = end == std::string::npos ? result_.text.size() : end + 1;
    std::string delta = result_.text.substr(pos_, end - pos_);
    pos_ = end;
    co_return std::optional<std::string>(std::move(delta));
  }
  const AnswerResult& Result() const override { return result_; }

 private:
  AnswerResult result_;
  size_t pos_ = 0;
};

boost::asio::awaitable<absl::StatusOr<std::unique_ptr<AnswerStream>>>
KnowledgeBaseService::StreamAnswer(const RequestContext& ctx, AnswerRequest request) {
  absl::StatusOr<AnswerResult> result = co_await Answer(ctx, std::move(request));
  if (!result.ok()) co_return result.status();
  std::unique_ptr<AnswerStream> stream = std::make_unique<AnswerStreamImpl>(*std::move(result));
  co_return stream;
}

// Ingestion jobs.

boost::asio::awaitable<absl::StatusOr<IngestionJob>> KnowledgeBaseService::StartIngestionJob(
    const RequestContext& ctx, std::string kb, std::string data_source) {
  absl::StatusOr<DataSource> source = co_await GetDataSource(ctx, kb, data_source);
  if (!source.ok()) co_return source.status();
  IngestionJob job;
  job.kb = kb;
  job.data_source = data_source;
  job.id = NewResourceId();
  job.status = "IN_PROGRESS";
  job.started_ms = job.updated_ms = NowMs();
  if (source->type == "LOCAL_DIRECTORY") {
    absl::StatusOr<IngestionJob> scanned = co_await ScanDirectory(ctx, *source, job);
    if (!scanned.ok()) {
      job.status = "FAILED";
      job.failures.push_back(std::string(scanned.status().message()));
    } else {
      job = *std::move(scanned);
    }
  } else {
    // A CUSTOM source has nothing to scan: the job reports its documents.
    std::string after;
    while (true) {
      absl::StatusOr<Page<DocumentState>> docs = co_await ListDocuments(ctx, kb, data_source, after, 1000);
      if (!docs.ok()) co_return docs.status();
      for (const DocumentState& d : docs->items) {
        ++job.scanned;
        if (d.status == kFailed) ++job.failed;
        if (d.status == kIndexed) ++job.unchanged;
      }
      if (docs->next.empty()) break;
      after = docs->next;
    }
    job.status = "COMPLETE";
  }
  job.updated_ms = NowMs();
  RagDb* db = deps_.db;
  std::string tenant = ctx.tenant;
  auto put = [db, tenant, job]() { return db->PutJob(tenant, job); };
  if (absl::Status s = co_await deps_.blocking->Run(std::move(put)); !s.ok()) co_return s;
  co_return job;
}

boost::asio::awaitable<absl::StatusOr<IngestionJob>> KnowledgeBaseService::ScanDirectory(
    const RequestContext& ctx, const DataSource& source, IngestionJob job) {
  // The scan lists files on the pool; then each batch of files is read on the
  // pool and ingested, so at most one batch's bytes are held at a time.
  struct Found {
    std::string path;  // relative to the directory
    uintmax_t size = 0;
  };
  const std::string root = source.directory;
  auto scan = [root]() -> absl::StatusOr<std::vector<Found>> {
    std::vector<Found> files;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
      files.push_back(Found{fs::relative(it->path(), root, ec).string(), it->file_size(ec)});
      if (files.size() > kMaxDirectoryFiles) {
        return absl::FailedPreconditionError(StrCat("localDirectory: ", root, " holds more than ",
                                                    kMaxDirectoryFiles, " files"));
      }
    }
    if (ec) return absl::UnavailableError(StrCat("localDirectory: cannot read ", root, ": ", ec.message()));
    std::sort(files.begin(), files.end(), [](const Found& a, const Found& b) { return a.path < b.path; });
    return files;
  };
  absl::StatusOr<std::vector<Found>> files = co_await deps_.blocking->Run(std::move(scan));
  if (!files.ok()) co_return files.status();
  auto fail = [&job](std::string reason) {
    ++job.failed;
    if (job.failures.size() < kMaxJobFailures) job.failures.push_back(std::move(reason));
  };
  std::set<std::string> present;
  const size_t max_bytes = options_.limits.max_bytes;
  const size_t per_batch = static_cast<size_t>(std::max(options_.max_documents_per_request, 1));
  for (size_t at = 0; at < files->size(); at += per_batch) {
    std::vector<Found> slice(files->begin() + static_cast<std::ptrdiff_t>(at),
                             files->begin() + static_cast<std::ptrdiff_t>(std::min(at + per_batch, files->size())));
    auto read = [root, slice, max_bytes]() -> absl::StatusOr<std::vector<absl::StatusOr<std::string>>> {
      std::vector<absl::StatusOr<std::string>> out;
      for (const Found& f : slice) {
        if (f.size > max_bytes) {
          out.push_back(absl::InvalidArgumentError(StrCat(f.path, ": ", f.size,
              " bytes, over rag.max_document_bytes (", max_bytes, ")")));
          continue;
        }
        std::ifstream in(fs::path(root) / f.path, std::ios::binary);
        if (!in.is_open()) {
          out.push_back(absl::UnavailableError(StrCat(f.path, ": cannot be opened")));
          continue;
        }
        out.push_back(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
      }
      return out;
    };
    absl::StatusOr<std::vector<absl::StatusOr<std::string>>> contents =
        co_await deps_.blocking->Run(std::move(read));
    if (!contents.ok()) co_return contents.status();
    std::vector<DocumentInput> batch;
    for (size_t i = 0; i < slice.size(); ++i) {
      ++job.scanned;
      present.insert(slice[i].path);  // a file that failed keeps its indexed version
      absl::StatusOr<std::string>& content = (*contents)[i];
      if (!content.ok()) {
        fail(std::string(content.status().message()));
        continue;
      }
      DocumentInput d;
      d.data_source = source.id;
      d.id = slice[i].path;
      d.content = *std::move(content);
      d.mime_type = extract::MimeForFileName(slice[i].path);
      d.source_uri = StrCat("file://", (fs::path(source.directory) / slice[i].path).string());
      d.attributes["x-amz-bedrock-kb-source-file-name"] = fs::path(slice[i].path).filename().string();
      batch.push_back(std::move(d));
    }
    if (batch.empty()) continue;
    absl::StatusOr<std::vector<DocumentState>> states = co_await Ingest(ctx, source.kb, std::move(batch));
    if (!states.ok()) co_return states.status();
    for (const DocumentState& st : *states) {
      if (st.status == kIndexed) {
        ++job.unchanged;
      } else if (st.version == 0) {
        ++job.new_indexed;
      } else {
        ++job.modified_indexed;
      }
    }
  }
  // Files that are gone: their documents go too.
  std::vector<std::string> vanished;
  std::string after;
  while (true) {
    absl::StatusOr<Page<DocumentState>> docs = co_await ListDocuments(ctx, source.kb, source.id, after, 1000);
    if (!docs.ok()) co_return docs.status();
    for (const DocumentState& d : docs->items) {
      if (!present.contains(d.id) && d.status != kDeleting) vanished.push_back(d.id);
    }
    if (docs->next.empty()) break;
    after = docs->next;
  }
  if (!vanished.empty()) {
    absl::StatusOr<std::vector<DocumentState>> deleted =
        co_await DeleteDocuments(ctx, source.kb, source.id, vanished);
    if (!deleted.ok()) co_return deleted.status();
    job.deleted = static_cast<int64_t>(vanished.size());
  }
  job.status = "COMPLETE";
  co_return job;
}

boost::asio::awaitable<absl::StatusOr<IngestionJob>> KnowledgeBaseService::GetIngestionJob(
    const RequestContext& ctx, std::string kb, std::string data_source, std::string id) {
  RagDb* db = deps_.db;
  std::string tenant = ctx.tenant;
  auto get = [db, tenant, kb, id]() { return db->GetJob(tenant, kb, id); };
  absl::StatusOr<std::optional<IngestionJob>> job = co_await deps_.blocking->Run(std::move(get));
  if (!job.ok()) co_return job.status();
  if (!job->has_value() || (*job)->data_source != data_source) {
    co_return absl::NotFoundError(StrCat("ingestion job ", id, " not found"));
  }
  co_return **job;
}

boost::asio::awaitable<absl::StatusOr<std::vector<IngestionJob>>>
KnowledgeBaseService::ListIngestionJobs(const RequestContext& ctx, std::string kb,
                                        std::string data_source) {
  absl::StatusOr<DataSource> source = co_await GetDataSource(ctx, kb, data_source);
  if (!source.ok()) co_return source.status();
  RagDb* db = deps_.db;
  std::string tenant = ctx.tenant;
  auto list = [db, tenant, kb, data_source]() { return db->ListJobs(tenant, kb, data_source); };
  co_return co_await deps_.blocking->Run(std::move(list));
}

}  // namespace basalt::rag
