#include "models/providers/openai_provider.h"

#include <cstdlib>

#include "core/json.h"
#include "core/strings.h"
#include "models/formats/openai_format.h"
#include "models/providers/upstream.h"

namespace basalt::models {

namespace asio = boost::asio;

namespace {

std::string ResolveKey(const ProviderConfig& config) {
  if (!config.api_key.empty()) return config.api_key;
  if (!config.api_key_env.empty()) {
    if (const char* v = std::getenv(config.api_key_env.c_str())) return v;
  }
  return "";
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

OpenAiProvider::OpenAiProvider(const ProviderConfig& config, const net::ClientSet& clients)
    : name_(config.name),
      base_url_(TrimSlash(config.base_url.empty() ? "https://api.openai.com/v1" : config.base_url)),
      api_key_(ResolveKey(config)),
      timeout_(config.timeout_ms),
      clients_(clients) {}

net::ClientRequest OpenAiProvider::Request(const RequestContext& ctx, std::string method,
                                           std::string path, std::string body) const {
  net::ClientRequest request;
  request.method = std::move(method);
  request.url = base_url_ + path;
  request.body = std::move(body);
  request.deadline = CallDeadline(ctx, timeout_);
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("Accept", "application/json");
  if (!api_key_.empty()) request.headers.emplace_back("Authorization", "Bearer " + api_key_);
  request.headers.emplace_back("X-Request-Id", ctx.request_id);
  return request;
}

asio::awaitable<absl::StatusOr<nlohmann::json>> OpenAiProvider::Call(net::ClientRequest request) {
  auto client = co_await clients_.Current();
  if (!client.ok()) co_return client.status();
  auto response = co_await (*client)->Send(std::move(request));
  if (!response.ok()) co_return response.status();
  if (response->status < 200 || response->status > 299) {
    co_return UpstreamError(name_, response->status, response->headers, response->body);
  }
  auto json = ParseJson(response->body, StrCat(name_, " response"));
  if (!json.ok()) co_return absl::UnavailableError(std::string(json.status().message()));
  co_return *std::move(json);
}

asio::awaitable<absl::StatusOr<ChatResponse>> OpenAiProvider::Chat(const RequestContext& ctx,
                                                                  const ChatRequest& request) {
  ChatRequest plain = request;
  plain.stream = false;
  net::ClientRequest call =
      Request(ctx, "POST", "/chat/completions", openai::RenderChatRequest(plain).dump());
  auto json = co_await Call(std::move(call));
  if (!json.ok()) co_return json.status();
  auto parsed = openai::ParseChatResponse(*json);
  if (!parsed.ok()) {
    co_return absl::UnavailableError(StrCat(name_, " sent an unreadable answer: ",
                                            parsed.status().message()));
  }
  co_return parsed;
}

asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> OpenAiProvider::StreamChat(
    const RequestContext& ctx, const ChatRequest& request) {
  ChatRequest streaming = request;
  streaming.stream = true;
  net::ClientRequest call =
      Request(ctx, "POST", "/chat/completions", openai::RenderChatRequest(streaming).dump());
  for (auto& [k, v] : call.headers) {
    if (k == "Accept") v = "text/event-stream";
  }
  auto client = co_await clients_.Current();
  if (!client.ok()) co_return client.status();
  auto body = co_await (*client)->Open(std::move(call));
  if (!body.ok()) co_return body.status();
  if ((*body)->status() < 200 || (*body)->status() > 299) {
    const std::string text = co_await ReadSome(**body);
    co_return UpstreamError(name_, (*body)->status(), (*body)->headers(), text);
  }
  // Per-stream parser state shared by the two callbacks.
  struct State {
    openai::ChunkParser parser;
    bool done = false;
  };
  auto state = std::make_shared<State>();
  const std::string provider = name_;
  auto on_event = [state, provider](const net::SseEvent& event,
                                    std::vector<ChatDelta>* out) -> absl::Status {
    if (state->done) return absl::OkStatus();
    if (event.data == "[DONE]") {
      state->done = true;
      return state->parser.Finish(out);
    }
    auto chunk = ParseJson(event.data, StrCat(provider, " stream chunk"));
    if (!chunk.ok()) return absl::UnavailableError(std::string(chunk.status().message()));
    return state->parser.Feed(*chunk, out);
  };
  auto on_finish = [state](std::vector<ChatDelta>* out) -> absl::Status {
    if (state->done) return absl::OkStatus();
    state->done = true;
    return state->parser.Finish(out);
  };
  co_return std::unique_ptr<ChatStream>(
      new SseChatStream(*std::move(body), std::move(on_event), std::move(on_finish)));
}

asio::awaitable<absl::StatusOr<EmbeddingResponse>> OpenAiProvider::Embed(
    const RequestContext& ctx, const EmbeddingRequest& request) {
  net::ClientRequest call =
      Request(ctx, "POST", "/embeddings", openai::RenderEmbeddingRequest(request).dump());
  auto json = co_await Call(std::move(call));
  if (!json.ok()) co_return json.status();
  auto parsed = openai::ParseEmbeddingResponse(*json);
  if (!parsed.ok()) {
    co_return absl::UnavailableError(StrCat(name_, " sent unreadable embeddings: ",
                                            parsed.status().message()));
  }
  co_return parsed;
}

asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> OpenAiProvider::ListModels(
    const RequestContext& ctx) {
  net::ClientRequest call = Request(ctx, "GET", "/models", "");
  auto json = co_await Call(std::move(call));
  if (!json.ok()) co_return json.status();
  auto models = openai::ParseModelList(*json);
  if (!models.ok()) co_return models.status();
  for (auto& m : *models) m.provider = name_;
  co_return models;
}

}  // namespace basalt::models
