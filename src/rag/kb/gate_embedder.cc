#include "rag/kb/gate_embedder.h"

#include <cmath>

#include "core/strings.h"

namespace basalt::rag {

boost::asio::awaitable<absl::StatusOr<std::vector<std::vector<float>>>> GateEmbedder::Embed(
    const RequestContext& ctx, std::vector<std::string> texts) {
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  for (size_t start = 0; start < texts.size(); start += static_cast<size_t>(batch_)) {
    size_t end = std::min(texts.size(), start + static_cast<size_t>(batch_));
    models::EmbeddingRequest request;
    request.model = model_;
    request.inputs.assign(std::make_move_iterator(texts.begin() + static_cast<ptrdiff_t>(start)),
                          std::make_move_iterator(texts.begin() + static_cast<ptrdiff_t>(end)));
    absl::StatusOr<models::EmbeddingResponse> response = co_await gate_.Embed(ctx, request);
    if (!response.ok()) co_return response.status();
    if (response->embeddings.size() != end - start) {
      co_return absl::InvalidArgumentError(StrCat("embeddings: ", model_, " returned ",
                                                  response->embeddings.size(), " vectors for ",
                                                  end - start, " texts"));
    }
    for (std::vector<float>& v : response->embeddings) {
      int expected = dimensions_.load();
      if (expected == 0) {
        dimensions_.compare_exchange_strong(expected, static_cast<int>(v.size()));
        expected = dimensions_.load();
      }
      if (static_cast<int>(v.size()) != expected) {
        co_return absl::InvalidArgumentError(
            StrCat("embeddings: ", model_, " returned a vector of ", v.size(),
                   " dimensions; this knowledge base holds ", expected));
      }
      // Unit length, so inner product is cosine (not every provider normalises).
      double norm = 0;
      for (float x : v) norm += static_cast<double>(x) * x;
      if (norm > 0 && std::abs(norm - 1.0) > 1e-4) {
        float inv = static_cast<float>(1.0 / std::sqrt(norm));
        for (float& x : v) x *= inv;
      }
      out.push_back(std::move(v));
    }
  }
  co_return out;
}

}  // namespace basalt::rag
