#include "models/providers/anthropic_provider.h"

#include <cstdlib>

#include "core/json.h"
#include "core/strings.h"
#include "models/formats/anthropic_format.h"
#include "models/providers/upstream.h"

namespace basalt::models {

namespace asio = boost::asio;

namespace {

// Anthropic requires max_tokens; a client of another API may not have sent one.
constexpr int64_t kDefaultMaxTokens = 4096;

}  // namespace

AnthropicProvider::AnthropicProvider(const ProviderConfig& config, const net::ClientSet& clients)
    : name_(config.name),
      base_url_([&] {
        std::string url = config.base_url.empty() ? "https://api.anthropic.com" : config.base_url;
        while (!url.empty() && url.back() == '/') url.pop_back();
        return url;
      }()),
      api_key_([&]() -> std::string {
        if (!config.api_key.empty()) return config.api_key;
        const char* env = std::getenv(config.api_key_env.empty() ? "ANTHROPIC_API_KEY"
                                                                 : config.api_key_env.c_str());
        return env ? env : "";
      }()),
      version_(config.anthropic_version),
      timeout_(config.timeout_ms),
      clients_(clients) {}

net::ClientRequest AnthropicProvider::Request(const RequestContext& ctx,
                                              const ChatRequest& request, bool stream) const {
  ChatRequest upstream = request;
  upstream.stream = stream;
  if (!upstream.max_tokens) upstream.max_tokens = kDefaultMaxTokens;
  net::ClientRequest call;
  call.method = "POST";
  call.url = base_url_ + "/v1/messages";
  call.body = anthropic::RenderChatRequest(upstream).dump();
  call.deadline = CallDeadline(ctx, timeout_);
  call.headers = {{"Content-Type", "application/json"},
                  {"Accept", stream ? "text/event-stream" : "application/json"},
                  {"anthropic-version", version_},
                  {"x-api-key", api_key_}};
  return call;
}

asio::awaitable<absl::StatusOr<ChatResponse>> AnthropicProvider::Chat(const RequestContext& ctx,
                                                                     const ChatRequest& request) {
  auto client = co_await clients_.Current();
  if (!client.ok()) co_return client.status();
  net::ClientRequest call = Request(ctx, request, false);
  auto response = co_await (*client)->Send(std::move(call));
  if (!response.ok()) co_return response.status();
  if (response->status < 200 || response->status > 299) {
    co_return UpstreamError(name_, response->status, response->headers, response->body);
  }
  auto json = ParseJson(response->body, StrCat(name_, " response"));
  if (!json.ok()) co_return absl::UnavailableError(std::string(json.status().message()));
  auto parsed = anthropic::ParseChatResponse(*json);
  if (!parsed.ok()) {
    co_return absl::UnavailableError(StrCat(name_, " sent an unreadable answer: ",
                                            parsed.status().message()));
  }
  co_return parsed;
}

asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> AnthropicProvider::StreamChat(
    const RequestContext& ctx, const ChatRequest& request) {
  auto client = co_await clients_.Current();
  if (!client.ok()) co_return client.status();
  net::ClientRequest call = Request(ctx, request, true);
  auto body = co_await (*client)->Open(std::move(call));
  if (!body.ok()) co_return body.status();
  if ((*body)->status() < 200 || (*body)->status() > 299) {
    const std::string text = co_await ReadSome(**body);
    co_return UpstreamError(name_, (*body)->status(), (*body)->headers(), text);
  }
  auto parser = std::make_shared<anthropic::EventParser>();
  const std::string provider = name_;
  auto on_event = [parser, provider](const net::SseEvent& event,
                                     std::vector<ChatDelta>* out) -> absl::Status {
    auto data = ParseJson(event.data, StrCat(provider, " stream event"));
    if (!data.ok()) return absl::UnavailableError(std::string(data.status().message()));
    // The event name is also inside the data as `type`; prefer the SSE field.
    std::string name = event.event;
    if (name.empty() && data->is_object() && data->contains("type") && (*data)["type"].is_string()) {
      name = (*data)["type"].get<std::string>();
    }
    return parser->Feed(name, *data, out);
  };
  auto on_finish = [parser](std::vector<ChatDelta>* out) { return parser->Finish(out); };
  co_return std::unique_ptr<ChatStream>(
      new SseChatStream(*std::move(body), std::move(on_event), std::move(on_finish)));
}

asio::awaitable<absl::StatusOr<EmbeddingResponse>> AnthropicProvider::Embed(
    const RequestContext&, const EmbeddingRequest&) {
  co_return absl::UnimplementedError(
      StrCat("provider '", name_, "' (anthropic) has no embeddings API; route embeddings to "
                                  "an openai, bedrock or builtin provider"));
}

asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> AnthropicProvider::ListModels(
    const RequestContext&) {
  co_return std::vector<ModelInfo>{};
}

}  // namespace basalt::models
