// GateEmbedder: the Embedder adapter for any provider's embeddings model,
// called through the tenant's ModelGate (tenancy/model_gate.h), so every call
// is rate-limited, budgeted and metered to the tenant in the RequestContext.
// Texts go in batches of `batch` per call. The first call fixes the dimension
// when it was not known; later vectors of another dimension are refused.
#pragma once

#include <atomic>
#include <string>

#include "models/provider.h"
#include "rag/embedder.h"

namespace basalt::rag {

class GateEmbedder final : public Embedder {
 public:
  GateEmbedder(models::ModelProvider& gate, std::string model, int dimensions, int batch = 64)
      : gate_(gate), model_(std::move(model)), dimensions_(dimensions), batch_(batch) {}

  const std::string& id() const override { return model_; }
  int dimensions() const override { return dimensions_.load(); }
  boost::asio::awaitable<absl::StatusOr<std::vector<std::vector<float>>>> Embed(
      const RequestContext& ctx, std::vector<std::string> texts) override;

 private:
  models::ModelProvider& gate_;
  const std::string model_;
  std::atomic<int> dimensions_;
  const int batch_;
};

}  // namespace basalt::rag
