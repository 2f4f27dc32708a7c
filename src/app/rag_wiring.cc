#include "app/rag_wiring.h"

#include <filesystem>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include "api/rag_api.h"
#include "core/log.h"
#if __has_include("api/bedrock_kb_api.h")
#include "api/bedrock_kb_api.h"
#define BASALT_HAS_BEDROCK_KB 1
#endif

namespace basalt::app {
namespace asio = boost::asio;

RagRuntime::~RagRuntime() {
  if (service) {
    service->Stop();
    // Save the indexes so the next start loads them instead of rebuilding.
    if (thread.joinable()) {
      auto saved = asio::co_spawn(io, service->SaveAll(), asio::use_future);
      saved.wait_for(std::chrono::seconds(60));
    }
  }
  work.reset();
  io.stop();
  if (thread.joinable()) thread.join();
}

absl::StatusOr<std::unique_ptr<RagRuntime>> BuildRag(const Config& config,
                                                     net::Server& server, net::Router& routes,
                                                     metrics::Registry& registry,
                                                     BlockingPool& blocking, AsyncStore& store,
                                                     bus::Bus& bus, models::ModelProvider& models,
                                                     const tenancy::FieldCipher* cipher) {
  auto rt = std::make_unique<RagRuntime>();
  const std::string path = (std::filesystem::path(config.data_dir) / "rag.db").string();
  absl::StatusOr<std::unique_ptr<rag::RagDb>> db = rag::RagDb::Open(path, cipher);
  if (!db.ok()) return db.status();
  rt->db = *std::move(db);
  absl::StatusOr<std::unique_ptr<rag::extract::ExtractorSet>> extractors = rag::extract::ExtractorSet::Create();
  if (!extractors.ok()) return extractors.status();
  rt->extractors = *std::move(extractors);

  rag::RagOptions options;
  options.data_dir = config.data_dir;
  options.allowed_directories = config.rag.allowed_directories;
  options.limits.max_bytes = static_cast<size_t>(config.rag.max_document_bytes);
  options.limits.max_pages = static_cast<int>(config.rag.max_pages);
  options.limits.max_time = std::chrono::milliseconds(config.rag.max_extract_ms);
  options.limits.ocr = config.rag.ocr;
  options.limits.ocr_dpi = static_cast<int>(config.rag.ocr_dpi);
  options.worker_slots = static_cast<int>(std::max<int64_t>(config.rag.workers, 1));
  options.default_embedding_model = config.rag.embedding_model;
  options.default_generation_model = config.rag.generation_model;
  options.save_interval = std::chrono::milliseconds(config.rag.save_interval_ms);
  rag::RagDeps deps;
  deps.store = &store;
  deps.db = rt->db.get();
  deps.bus = &bus;
  deps.blocking = &blocking;
  deps.extractors = rt->extractors.get();
  deps.models = &models;
  deps.registry = &registry;
  rt->service = std::make_unique<rag::KnowledgeBaseService>(deps, options);

  api::AddRagRoutes(routes, *rt->service);
#ifdef BASALT_HAS_BEDROCK_KB
  api::AddBedrockKbRoutes(routes, *rt->service, config.region);
#endif
  rt->work = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(
      rt->io.get_executor());
  RagRuntime* raw = rt.get();
  if (config.rag.workers > 0) {
    asio::post(rt->io, [raw] { raw->service->StartWorkers(raw->io); });
  }
  rt->thread = std::thread([raw] { raw->io.run(); });
  server.AddDrainHook([raw] { raw->service->Stop(); }, [raw] { return raw->service->Busy(); });
  return rt;
}

}  // namespace basalt::app
