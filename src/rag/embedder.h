// Embedder: the port that turns texts into vectors for a knowledge base.
// Adapters: kb/gate_embedder.h (any provider's embeddings through the
// tenant's ModelGate, so every call is metered and budgeted) and a fake for
// tests. An embedder has one id and one dimension; a knowledge base records
// both and refuses vectors of any other.
//
// Thread-safety: Embed may be called concurrently. It is a coroutine and never
// blocks the io thread beyond the CPU work the builtin model does inline.
//
// Errors: the ModelProvider's (models/provider.h), plus kInvalidArgument when
// the model returns a vector of the wrong dimension or the wrong count.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "absl/status/statusor.h"
#include "core/context.h"

namespace basalt::rag {

class Embedder {
 public:
  virtual ~Embedder() = default;
  // Stable identity recorded beside every vector ("builtin-embed", "openai/text-embedding-3-small").
  virtual const std::string& id() const = 0;
  virtual int dimensions() const = 0;
  // One unit-length vector per text, in order. Implementations batch as their
  // model allows; callers may pass any number of texts.
  virtual boost::asio::awaitable<absl::StatusOr<std::vector<std::vector<float>>>> Embed(
      const RequestContext& ctx, std::vector<std::string> texts) = 0;
};

}  // namespace basalt::rag
