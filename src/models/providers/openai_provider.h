// OpenAI-compatible provider: POST {base_url}/chat/completions (plain and SSE
// streaming with stream_options.include_usage), POST {base_url}/embeddings and
// GET {base_url}/models. Works with OpenAI and the servers that speak its API:
// vLLM, llama.cpp server, Ollama, TGI, LM Studio (docs/PROVIDERS.md lists the
// base_url for each).
//
// Thread-safety: shared by all io threads; each call uses the HttpClient of
// the io thread it runs on (ClientSet). Errors follow provider.h.
#pragma once

#include <chrono>
#include <string>

#include "core/config_sections.h"
#include "models/provider.h"
#include "net/client_set.h"

namespace basalt::models {

class OpenAiProvider final : public ModelProvider {
 public:
  // `config.base_url` ends before /chat/completions, e.g. https://api.openai.com/v1.
  OpenAiProvider(const ProviderConfig& config, const net::ClientSet& clients);

  std::string_view name() const override { return name_; }
  boost::asio::awaitable<absl::StatusOr<ChatResponse>> Chat(const RequestContext& ctx,
                                                           const ChatRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> StreamChat(
      const RequestContext& ctx, const ChatRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<EmbeddingResponse>> Embed(
      const RequestContext& ctx, const EmbeddingRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> ListModels(
      const RequestContext& ctx) override;

 private:
  net::ClientRequest Request(const RequestContext& ctx, std::string method, std::string path,
                             std::string body) const;
  // Sends and returns the parsed JSON of a 2xx answer, or the mapped error.
  boost::asio::awaitable<absl::StatusOr<nlohmann::json>> Call(net::ClientRequest request);

  const std::string name_;
  const std::string base_url_;
  const std::string api_key_;
  const std::chrono::milliseconds timeout_;
  const net::ClientSet& clients_;
};

}  // namespace basalt::models
