#include "api/anthropic_api.h"

#include "models/formats/anthropic_format.h"

namespace basalt::api {

namespace asio = boost::asio;
using net::HttpRequest;
using net::HttpResponse;

asio::awaitable<absl::Status> RelayAnthropicEvents(RelayState& state, const AnthropicEmit& emit) {
  models::anthropic::EventRenderer renderer;
  for (;;) {
    auto delta = co_await state.stream->Next();
    if (!delta.ok()) {
      const nlohmann::json error = {
          {"type", "error"},
          {"error", {{"type", "api_error"}, {"message", std::string(delta.status().message())}}}};
      co_await emit("error", error);
      co_return delta.status();
    }
    if (!delta->has_value()) break;
    for (const auto& [event, data] : renderer.Render(**delta)) {
      absl::Status s = co_await emit(event, data);
      if (!s.ok()) co_return s;
    }
  }
  for (const auto& [event, data] : renderer.Finish()) {
    absl::Status s = co_await emit(event, data);
    if (!s.ok()) co_return s;
  }
  co_return absl::OkStatus();
}

namespace {

asio::awaitable<absl::StatusOr<HttpResponse>> Messages(HttpRequest& http, GatewayDeps deps,
                                                       GatewayMetrics& metrics) {
  const auto started = std::chrono::steady_clock::now();
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  // The model may be left out: the tenant's default model applies (the gate
  // answers "model: is required" when the tenant has none).
  auto request = models::anthropic::ParseChatRequest(*body, {.require_model = false});
  if (!request.ok()) co_return request.status();
  if (!request->stream) {
    models::UpstreamTiming timing;
    auto answer = co_await deps.router->Chat(http.ctx, *std::move(request), &timing);
    if (!answer.ok()) co_return answer.status();
    metrics.ObserveOverhead("anthropic", started, timing);
    co_return HttpResponse::Json(200, models::anthropic::RenderChatResponse(*answer).dump());
  }
  auto state = std::make_shared<RelayState>();
  state->started = started;
  auto stream = co_await deps.router->StreamChat(http.ctx, *std::move(request), &state->timing);
  if (!stream.ok()) co_return stream.status();
  state->stream = *std::move(stream);
  HttpResponse response;
  response.content_type = "text/event-stream";
  response.stream = [state, &metrics](net::StreamWriter& writer) -> asio::awaitable<absl::Status> {
    AnthropicEmit emit = [&writer](const std::string& event,
                                   const nlohmann::json& data) -> asio::awaitable<absl::Status> {
      co_return co_await writer.Event(event, data.dump());
    };
    absl::Status status = co_await RelayAnthropicEvents(*state, emit);
    if (status.ok()) metrics.ObserveOverhead("anthropic", state->started, state->timing);
    co_return status;
  };
  co_return response;
}

}  // namespace

void AddAnthropicRoutes(net::Router& router, GatewayDeps deps, GatewayMetrics& metrics) {
  router.Add("POST", "/v1/messages",
             [deps, &metrics](HttpRequest& r) { return Messages(r, deps, metrics); },
             ModelRouteOptions());
}

}  // namespace basalt::api
