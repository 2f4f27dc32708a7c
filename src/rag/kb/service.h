// KnowledgeBaseService: the RAG pattern (docs/RAG.md). Knowledge bases and
// data sources are tenant-scoped records in the Store; documents, chunks and
// vectors live in RagDb; each knowledge base's indexes are a Generation.
//
//   ingest   Ingest() stages each document's bytes durably (PENDING) and
//            enqueues a job on the bus's "rag" queue; the same id with the same
//            content and configuration is a no-op. The worker extracts (on the
//            BlockingPool), chunks, embeds through the tenant's ModelGate, writes
//            the chunks, indexes them, then flips the document's live version
//            and removes the old chunks (generation.h: never a mix).
//   delete   the live version is withdrawn at once, then a job removes the
//            chunks from every index and from rag.db.
//   reindex  a chunking or embedder change builds a new generation in the
//            background from the stored extracted text; the old one answers
//            until the new one holds every document, then it is retired.
//   query    Retrieve() embeds the query (metered), searches both indexes with
//            the filter inside the search, fuses; Answer() prompts the model
//            with the numbered sources fenced as data, grounds the answer in
//            them (citations with spans), scores a confidence and abstains
//            below the threshold. Sessions keep the conversation.
//
// Every method takes the caller's RequestContext; its tenant scopes every read
// and write, so another tenant's knowledge base is kNotFound.
//
// Thread-safety: all methods may be called concurrently from any io thread.
// They never block it: storage, extraction and index work run on the pool.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "absl/status/statusor.h"
#include "async/lease_loop.h"
#include "bus/bus.h"
#include "core/blocking_pool.h"
#include "core/metrics.h"
#include "models/provider.h"
#include "rag/embedder.h"
#include "rag/extract/extractor_set.h"
#include "rag/kb/generation.h"
#include "rag/kb/kb_types.h"
#include "rag/kb/rag_db.h"
#include "store/async_store.h"

namespace basalt::rag {

struct RagOptions {
  std::string data_dir;                         // indexes under <data_dir>/rag/
  std::vector<std::string> allowed_directories; // LOCAL_DIRECTORY roots (rag.allowed_directories)
  ExtractLimits limits;
  std::string queue = "rag";
  int worker_slots = 2;
  int max_documents_per_request = 25;           // Bedrock's limit for inline ingestion
  int max_results = 100;                        // numberOfResults bound
  std::string default_embedding_model = "builtin-embed";
  std::string default_generation_model = "builtin-chat";  // "": the tenant's default model
  std::chrono::milliseconds save_interval{10000};
  int session_turns = 10;                       // conversation kept per session
};

struct RagDeps {
  AsyncStore* store = nullptr;
  RagDb* db = nullptr;
  bus::Bus* bus = nullptr;
  BlockingPool* blocking = nullptr;
  const extract::ExtractorSet* extractors = nullptr;
  models::ModelProvider* models = nullptr;  // the ModelGate: every call is metered
  metrics::Registry* registry = nullptr;
};

template <class T>
struct Page {
  std::vector<T> items;
  std::string next;  // "" when this is the last page
};

class AnswerStream;

class KnowledgeBaseService {
 public:
  KnowledgeBaseService(RagDeps deps, RagOptions options);
  ~KnowledgeBaseService();

  // Knowledge bases. Create validates the config (errors name the field) and
  // probes the embedder for its dimension (one metered call).
  boost::asio::awaitable<absl::StatusOr<KnowledgeBase>> CreateKnowledgeBase(
      const RequestContext& ctx, KnowledgeBase draft);
  boost::asio::awaitable<absl::StatusOr<KnowledgeBase>> GetKnowledgeBase(const RequestContext& ctx,
                                                                        std::string id);
  boost::asio::awaitable<absl::StatusOr<Page<KnowledgeBase>>> ListKnowledgeBases(
      const RequestContext& ctx, std::string after, int limit);
  // `patch` holds the fields to change: name, description, config (whole or in
  // part). A chunking or embedder change starts a re-index.
  boost::asio::awaitable<absl::StatusOr<KnowledgeBase>> UpdateKnowledgeBase(
      const RequestContext& ctx, std::string id, nlohmann::json patch);
  boost::asio::awaitable<absl::StatusOr<KnowledgeBase>> DeleteKnowledgeBase(
      const RequestContext& ctx, std::string id);

  // Data sources.
  boost::asio::awaitable<absl::StatusOr<DataSource>> CreateDataSource(const RequestContext& ctx,
                                                                     DataSource draft);
  boost::asio::awaitable<absl::StatusOr<DataSource>> GetDataSource(const RequestContext& ctx,
                                                                  std::string kb, std::string id);
  boost::asio::awaitable<absl::StatusOr<Page<DataSource>>> ListDataSources(
      const RequestContext& ctx, std::string kb, std::string after, int limit);
  boost::asio::awaitable<absl::StatusOr<DataSource>> DeleteDataSource(const RequestContext& ctx,
                                                                     std::string kb,
                                                                     std::string id);

  // Documents. Returns one state per input, in order (PENDING, or INDEXED for
  // an unchanged document). A bad input fails the whole call before anything
  // is stored, naming documents[i].
  boost::asio::awaitable<absl::StatusOr<std::vector<DocumentState>>> Ingest(
      const RequestContext& ctx, std::string kb, std::vector<DocumentInput> documents);
  boost::asio::awaitable<absl::StatusOr<std::vector<DocumentState>>> GetDocuments(
      const RequestContext& ctx, std::string kb, std::string data_source,
      std::vector<std::string> ids);
  boost::asio::awaitable<absl::StatusOr<Page<DocumentState>>> ListDocuments(
      const RequestContext& ctx, std::string kb, std::string data_source, std::string after,
      int limit);
  boost::asio::awaitable<absl::StatusOr<std::vector<DocumentState>>> DeleteDocuments(
      const RequestContext& ctx, std::string kb, std::string data_source,
      std::vector<std::string> ids);

  // Ingestion jobs: a LOCAL_DIRECTORY source is scanned (new and changed files
  // ingested, vanished ones deleted); a CUSTOM source reports its documents.
  boost::asio::awaitable<absl::StatusOr<IngestionJob>> StartIngestionJob(
      const RequestContext& ctx, std::string kb, std::string data_source);
  boost::asio::awaitable<absl::StatusOr<IngestionJob>> GetIngestionJob(const RequestContext& ctx,
                                                                      std::string kb,
                                                                      std::string data_source,
                                                                      std::string id);
  boost::asio::awaitable<absl::StatusOr<std::vector<IngestionJob>>> ListIngestionJobs(
      const RequestContext& ctx, std::string kb, std::string data_source);

  boost::asio::awaitable<absl::StatusOr<RetrieveResult>> Retrieve(const RequestContext& ctx,
                                                                 RetrieveRequest request);
  boost::asio::awaitable<absl::StatusOr<AnswerResult>> Answer(const RequestContext& ctx,
                                                             AnswerRequest request);
  // Text deltas as the model streams them, then the grounded result
  // (citations, confidence) once the answer is complete.
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<AnswerStream>>> StreamAnswer(
      const RequestContext& ctx, AnswerRequest request);

  // Workers: `slots` ingestion jobs at a time on `io` (its own thread: the
  // builtin embedder computes inline), and the periodic index saver.
  void StartWorkers(boost::asio::io_context& io);
  void Stop();
  bool Busy() const;
  // Saves every dirty generation (shutdown, and the timer).
  boost::asio::awaitable<void> SaveAll();

  // Tenant deletion: every knowledge base's files and rows.
  boost::asio::awaitable<absl::Status> AdminDeleteTenant(std::string tenant);

  struct Runtime;  // a loaded knowledge base (service.cc)

 private:
  friend class AnswerStreamImpl;
  boost::asio::awaitable<absl::StatusOr<std::shared_ptr<Runtime>>> Load(const RequestContext& ctx,
                                                                       const std::string& kb);
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<Generation>>> OpenGeneration(
      const std::string& tenant, const KnowledgeBase& kb, int64_t number);
  boost::asio::awaitable<absl::Status> SaveKnowledgeBase(const std::string& tenant,
                                                         const KnowledgeBase& kb, bool create);
  // Enqueues the (payload, idempotency key) jobs concurrently; the first error.
  boost::asio::awaitable<absl::Status> EnqueueAll(
      const std::string& tenant, std::vector<std::pair<nlohmann::json, std::string>> jobs);
  boost::asio::awaitable<absl::Status> Enqueue(const std::string& tenant, nlohmann::json payload,
                                               std::string idempotency_key);
  boost::asio::awaitable<void> HandleJob(bus::Job job, const std::atomic<bool>& draining);
  boost::asio::awaitable<absl::Status> IndexDocument(const RequestContext& ctx, Runtime& rt,
                                                     const std::string& doc_id);
  boost::asio::awaitable<absl::Status> RemoveDocument(const RequestContext& ctx, Runtime& rt,
                                                      const std::string& doc_id);
  boost::asio::awaitable<absl::Status> Reindex(const RequestContext& ctx, Runtime& rt);
  boost::asio::awaitable<absl::StatusOr<std::vector<Chunk>>> ChunkFor(const RequestContext& ctx,
                                                                      Runtime& rt,
                                                                      const Extracted& doc,
                                                                      const KbConfig& config,
                                                                      Embedder& embedder);
  // The number of chunks written; `synced` false when a synced commit follows.
  boost::asio::awaitable<absl::StatusOr<int>> IndexInto(const RequestContext& ctx, Runtime& rt,
                                                 Generation& gen, const KbConfig& config,
                                                 Embedder& embedder, const std::string& doc_id,
                                                 int64_t version, const Extracted& doc,
                                                 bool synced = true);
  boost::asio::awaitable<absl::StatusOr<RetrieveResult>> RetrieveIn(const RequestContext& ctx,
                                                                   Runtime& rt,
                                                                   const RetrieveRequest& request);
  boost::asio::awaitable<absl::StatusOr<IngestionJob>> ScanDirectory(const RequestContext& ctx,
                                                                    const DataSource& source,
                                                                    IngestionJob job);
  std::string KbDir(const std::string& tenant, const std::string& kb, int64_t gen) const;

  RagDeps deps_;
  RagOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Runtime>> runtimes_;  // "tenant\n kb"
  std::set<std::string> in_flight_;                           // "tenant\n kb\n doc"
  std::unique_ptr<async::LeaseLoop> loop_;
  std::unique_ptr<boost::asio::steady_timer> saver_;
  std::atomic<bool> stopping_{false};
  struct Metrics;
  std::unique_ptr<Metrics> metrics_;
};

class AnswerStream {
 public:
  virtual ~AnswerStream() = default;
  // A text delta; nullopt when the answer is complete (then call Result()).
  virtual boost::asio::awaitable<absl::StatusOr<std::optional<std::string>>> Next() = 0;
  virtual const AnswerResult& Result() const = 0;
};

}  // namespace basalt::rag
