// Anthropic provider: the Messages API, POST {base_url}/v1/messages, plain and
// streaming (message_start … message_stop events). Authenticates with
// `x-api-key` and sends `anthropic-version`. Anthropic has no embeddings API:
// Embed answers kUnimplemented naming the provider. ListModels answers the
// models configured for it in aliases (Anthropic's /v1/models is not required).
//
// Thread-safety and errors: as provider.h.
#pragma once

#include <chrono>
#include <string>

#include "core/config_sections.h"
#include "models/provider.h"
#include "net/client_set.h"

namespace basalt::models {

class AnthropicProvider final : public ModelProvider {
 public:
  AnthropicProvider(const ProviderConfig& config, const net::ClientSet& clients);

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
  net::ClientRequest Request(const RequestContext& ctx, const ChatRequest& request,
                             bool stream) const;

  const std::string name_;
  const std::string base_url_;
  const std::string api_key_;
  const std::string version_;
  const std::chrono::milliseconds timeout_;
  const net::ClientSet& clients_;
};

}  // namespace basalt::models
