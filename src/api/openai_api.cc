#include "api/openai_api.h"

#include "core/strings.h"
#include "models/formats/openai_format.h"

namespace basalt::api {

namespace asio = boost::asio;
using net::HttpRequest;
using net::HttpResponse;

namespace {

asio::awaitable<absl::StatusOr<HttpResponse>> ChatCompletions(HttpRequest& http, GatewayDeps deps,
                                                              GatewayMetrics& metrics) {
  const auto started = std::chrono::steady_clock::now();
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto request = models::openai::ParseChatRequest(*body);
  if (!request.ok()) co_return request.status();
  const int64_t created = UnixSeconds(*deps.clock);

  if (!request->stream) {
    models::UpstreamTiming timing;
    auto answer = co_await deps.router->Chat(http.ctx, *std::move(request), &timing);
    if (!answer.ok()) co_return answer.status();
    metrics.ObserveOverhead("openai", started, timing);
    co_return HttpResponse::Json(200, models::openai::RenderChatResponse(*answer, created).dump());
  }

  const bool include_usage = models::openai::IncludeUsage(*request);
  auto state = std::make_shared<RelayState>();
  state->started = started;
  auto stream = co_await deps.router->StreamChat(http.ctx, *std::move(request), &state->timing);
  if (!stream.ok()) co_return stream.status();
  state->stream = *std::move(stream);
  HttpResponse response;
  response.content_type = "text/event-stream";
  response.stream = [state, created, include_usage, &metrics](
                        net::StreamWriter& writer) -> asio::awaitable<absl::Status> {
    models::openai::ChunkRenderer::Options options;
    options.created = created;
    options.include_usage = include_usage;
    models::openai::ChunkRenderer renderer(options);
    for (;;) {
      auto delta = co_await state->stream->Next();
      if (!delta.ok()) {
        // Headers are sent: report the failure in-band the way OpenAI does.
        nlohmann::json error = {{"error", {{"message", std::string(delta.status().message())},
                                           {"type", "server_error"}}}};
        co_await writer.Write(StrCat("data: ", error.dump(), "\n\n"));
        co_return delta.status();
      }
      if (!delta->has_value()) break;
      for (const auto& chunk : renderer.Render(**delta)) {
        absl::Status s = co_await writer.Write(StrCat("data: ", chunk.dump(), "\n\n"));
        if (!s.ok()) co_return s;
      }
    }
    metrics.ObserveOverhead("openai", state->started, state->timing);
    co_return co_await writer.Write("data: [DONE]\n\n");
  };
  co_return response;
}

asio::awaitable<absl::StatusOr<HttpResponse>> Embeddings(HttpRequest& http, GatewayDeps deps,
                                                         GatewayMetrics& metrics) {
  const auto started = std::chrono::steady_clock::now();
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto call = models::openai::ParseEmbeddingRequest(*body);
  if (!call.ok()) co_return call.status();
  models::UpstreamTiming timing;
  auto answer = co_await deps.router->Embed(http.ctx, std::move(call->request), &timing);
  if (!answer.ok()) co_return answer.status();
  metrics.ObserveOverhead("openai", started, timing);
  co_return HttpResponse::Json(
      200, models::openai::RenderEmbeddingResponse(*answer, call->encoding).dump());
}

}  // namespace

void AddOpenAiRoutes(net::Router& router, GatewayDeps deps, GatewayMetrics& metrics) {
  router.Add("POST", "/v1/chat/completions",
             [deps, &metrics](HttpRequest& r) { return ChatCompletions(r, deps, metrics); },
             ModelRouteOptions());
  router.Add("POST", "/v1/embeddings",
             [deps, &metrics](HttpRequest& r) { return Embeddings(r, deps, metrics); },
             ModelRouteOptions());
  router.Add("GET", "/v1/models",
             [deps](HttpRequest& r) -> asio::awaitable<absl::StatusOr<HttpResponse>> {
               auto models = co_await deps.router->ListModels(r.ctx);
               if (!models.ok()) co_return models.status();
               co_return HttpResponse::Json(
                   200, models::openai::RenderModelList(*models, UnixSeconds(*deps.clock)).dump());
             },
             net::RouteOptions{.permission = Permission::kModelsInvoke});
}

}  // namespace basalt::api
