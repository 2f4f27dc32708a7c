// Builds the RAG pattern from configuration: <data_dir>/rag.db, the
// extractors, the knowledge-base service, its ingestion workers (on their own
// io thread, since the builtin embedder computes inline), the native and
// Bedrock Knowledge Bases routes, and the index saves on shutdown. For
// `basalt serve` only (see serve.cc).
#pragma once

#include <memory>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "absl/status/statusor.h"
#include "bus/bus.h"
#include "core/blocking_pool.h"
#include "core/config.h"
#include "core/metrics.h"
#include "models/provider.h"
#include "net/router.h"
#include "net/server.h"
#include "rag/extract/extractor_set.h"
#include "rag/kb/rag_db.h"
#include "rag/kb/service.h"
#include "store/async_store.h"
#include "tenancy/field_cipher.h"

namespace basalt::app {

struct RagRuntime {
  std::unique_ptr<rag::RagDb> db;
  std::unique_ptr<rag::extract::ExtractorSet> extractors;
  std::unique_ptr<rag::KnowledgeBaseService> service;
  boost::asio::io_context io;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::thread thread;

  ~RagRuntime();
};

absl::StatusOr<std::unique_ptr<RagRuntime>> BuildRag(const Config& config,
                                                     net::Server& server, net::Router& routes,
                                                     metrics::Registry& registry,
                                                     BlockingPool& blocking, AsyncStore& store,
                                                     bus::Bus& bus, models::ModelProvider& models,
                                                     const tenancy::FieldCipher* cipher);

}  // namespace basalt::app
