// The service's in-memory view of one loaded knowledge base (service.cc).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/metrics.h"
#include "rag/embedder.h"
#include "rag/kb/generation.h"
#include "rag/kb/kb_types.h"
#include "rag/kb/service.h"

namespace basalt::rag {

struct KnowledgeBaseService::Runtime {
  std::string tenant;
  mutable std::mutex mu;  // guards everything below
  KnowledgeBase kb;
  // shared_ptr: a query holding a generation keeps it alive across a swap.
  std::shared_ptr<Generation> active;
  std::shared_ptr<Embedder> active_embedder;
  KbConfig active_config;
  std::shared_ptr<Generation> pending;  // null unless re-indexing
  std::shared_ptr<Embedder> pending_embedder;
  KbConfig pending_config;
  bool deleted = false;

  struct View {
    KnowledgeBase kb;
    std::shared_ptr<Generation> gen;
    std::shared_ptr<Embedder> embedder;
    KbConfig config;
    std::shared_ptr<Generation> pending;
    std::shared_ptr<Embedder> pending_embedder;
    KbConfig pending_config;
    bool deleted = false;
  };
  View Snapshot() const {
    std::lock_guard lock(mu);
    return View{kb, active, active_embedder, active_config, pending, pending_embedder,
                pending_config, deleted};
  }
};

struct KnowledgeBaseService::Metrics {
  metrics::CounterSeries* documents_indexed = nullptr;
  metrics::CounterSeries* documents_failed = nullptr;
  metrics::CounterSeries* chunks_indexed = nullptr;
  metrics::CounterSeries* queries = nullptr;
  metrics::CounterSeries* abstained = nullptr;
  void Inc(metrics::CounterSeries* c, double by = 1) {
    if (c != nullptr) c->Inc(by);
  }
};

// 10 characters of [0-9A-Z], as Bedrock's ids.
std::string NewResourceId();
std::string RuntimeKey(std::string_view tenant, std::string_view kb);

}  // namespace basalt::rag
