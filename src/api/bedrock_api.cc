#include "api/bedrock_api.h"

#include <openssl/evp.h>

#include <cctype>

#include "api/anthropic_api.h"
#include "core/status.h"
#include "core/strings.h"
#include "models/formats/anthropic_format.h"
#include "models/formats/converse_format.h"
#include "net/eventstream.h"
#include "tenancy/guardrails/bedrock.h"

namespace basalt::api {

namespace asio = boost::asio;
using net::HttpRequest;
using net::HttpResponse;

namespace {

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

int64_t MillisSince(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               started)
      .count();
}

// The exception frame AWS SDKs raise from inside an event stream.
std::string ExceptionFrame(const absl::Status& status) {
  std::string type = AwsErrorTypeOf(status);
  if (!type.empty()) type[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(type[0])));
  const nlohmann::json payload = {{"message", std::string(status.message())}};
  return net::EncodeException(type, payload.dump());
}

HttpResponse EventStreamResponse() {
  HttpResponse response;
  response.content_type = std::string(net::kEventStreamContentType);
  return response;
}

// Converse's guardrailConfig names one of basalt's guardrails: the tenant's
// policy (identifier "default" or the tenant's name), which the gate applies
// to every call anyway. It is taken out of the request (never sent upstream);
// naming another guardrail, or one the tenant does not have, is 404.
absl::StatusOr<bool> TakeGuardrailConfig(const HttpRequest& http, const GatewayDeps& deps,
                                         models::ChatRequest& request) {
  auto it = request.extra.find("guardrailConfig");
  if (it == request.extra.end()) return false;
  const nlohmann::json config = *it;
  request.extra.erase(it);
  if (!config.is_object() || !config.contains("guardrailIdentifier") ||
      !config["guardrailIdentifier"].is_string()) {
    return absl::InvalidArgumentError("guardrailConfig.guardrailIdentifier: is required");
  }
  const std::string id = config["guardrailIdentifier"].get<std::string>();
  tenancy::TenantPtr tenant = deps.router->PolicyFor(http.ctx.tenant);
  if (tenant->guardrail_policy == nullptr || (id != "default" && id != http.ctx.tenant)) {
    return absl::NotFoundError(
        StrCat("guardrail '", id, "' not found (this tenant's guardrail is 'default')"));
  }
  return true;
}

asio::awaitable<absl::StatusOr<HttpResponse>> Converse(HttpRequest& http, GatewayDeps deps,
                                                       GatewayMetrics& metrics, bool stream) {
  const auto started = std::chrono::steady_clock::now();
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto request = models::converse::ParseChatRequest(*body);
  if (!request.ok()) co_return request.status();
  request->model = std::string(http.Param("modelId"));
  auto guarded = TakeGuardrailConfig(http, deps, *request);
  if (!guarded.ok()) co_return guarded.status();
  if (!stream) {
    models::UpstreamTiming timing;
    auto answer = co_await deps.router->Chat(http.ctx, *std::move(request), &timing);
    if (!answer.ok()) co_return answer.status();
    metrics.ObserveOverhead("bedrock", started, timing);
    nlohmann::json out = models::converse::RenderChatResponse(*answer, MillisSince(started));
    if (*guarded && answer->stop_reason == models::StopReason::kContentFiltered) {
      out["stopReason"] = "guardrail_intervened";
    }
    co_return HttpResponse::Json(200, out.dump());
  }
  auto state = std::make_shared<RelayState>();
  state->started = started;
  auto opened = co_await deps.router->StreamChat(http.ctx, *std::move(request), &state->timing);
  if (!opened.ok()) co_return opened.status();
  state->stream = *std::move(opened);
  HttpResponse response = EventStreamResponse();
  response.stream = [state, &metrics](net::StreamWriter& writer) -> asio::awaitable<absl::Status> {
    models::converse::EventRenderer renderer;
    for (;;) {
      auto delta = co_await state->stream->Next();
      if (!delta.ok()) {
        co_await writer.Write(ExceptionFrame(delta.status()));
        co_return delta.status();
      }
      if (!delta->has_value()) break;
      for (const auto& [type, payload] : renderer.Render(**delta, MillisSince(state->started))) {
        absl::Status s = co_await writer.Write(net::EncodeEvent(type, payload.dump()));
        if (!s.ok()) co_return s;
      }
    }
    metrics.ObserveOverhead("bedrock", state->started, state->timing);
    co_return absl::OkStatus();
  };
  co_return response;
}

asio::awaitable<absl::StatusOr<HttpResponse>> Invoke(HttpRequest& http, GatewayDeps deps,
                                                     GatewayMetrics& metrics, bool stream) {
  const auto started = std::chrono::steady_clock::now();
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  models::anthropic::ParseOptions options;
  options.require_model = false;  // the model is in the URL
  auto request = models::anthropic::ParseChatRequest(*body, options);
  if (!request.ok()) co_return request.status();
  request->model = std::string(http.Param("modelId"));
  request->stream = stream;
  if (!stream) {
    models::UpstreamTiming timing;
    auto answer = co_await deps.router->Chat(http.ctx, *std::move(request), &timing);
    if (!answer.ok()) co_return answer.status();
    metrics.ObserveOverhead("bedrock", started, timing);
    HttpResponse response =
        HttpResponse::Json(200, models::anthropic::RenderChatResponse(*answer).dump());
    response.headers.emplace_back("X-Amzn-Bedrock-Input-Token-Count",
                                  std::to_string(answer->usage.input_tokens));
    response.headers.emplace_back("X-Amzn-Bedrock-Output-Token-Count",
                                  std::to_string(answer->usage.output_tokens));
    co_return response;
  }
  auto state = std::make_shared<RelayState>();
  state->started = started;
  auto opened = co_await deps.router->StreamChat(http.ctx, *std::move(request), &state->timing);
  if (!opened.ok()) co_return opened.status();
  state->stream = *std::move(opened);
  HttpResponse response = EventStreamResponse();
  response.stream = [state, &metrics](net::StreamWriter& writer) -> asio::awaitable<absl::Status> {
    // Each Anthropic event travels base64-encoded in a `chunk` frame.
    AnthropicEmit emit = [&writer](const std::string&,
                                   const nlohmann::json& data) -> asio::awaitable<absl::Status> {
      const nlohmann::json payload = {{"bytes", Base64(data.dump())}};
      co_return co_await writer.Write(net::EncodeEvent("chunk", payload.dump()));
    };
    absl::Status status = co_await RelayAnthropicEvents(*state, emit);
    if (!status.ok() && !writer.failed()) co_await writer.Write(ExceptionFrame(status));
    if (status.ok()) metrics.ObserveOverhead("bedrock", state->started, state->timing);
    co_return status;
  };
  co_return response;
}

}  // namespace

// Bedrock ApplyGuardrail: the tenant's guardrail policy (identifier "default"
// or the tenant's name; any version) over the given content, no model call.
asio::awaitable<absl::StatusOr<HttpResponse>> ApplyGuardrail(HttpRequest& http, GatewayDeps deps) {
  const auto started = std::chrono::steady_clock::now();
  const std::string_view id = http.Param("guardrailIdentifier");
  tenancy::TenantPtr tenant = deps.router->PolicyFor(http.ctx.tenant);
  if (tenant->guardrail_policy == nullptr || (id != "default" && id != http.ctx.tenant)) {
    co_return absl::NotFoundError(
        StrCat("guardrail '", id, "' not found (this tenant's guardrail is 'default')"));
  }
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto request = guardrails::ParseApplyGuardrailRequest(*body);
  if (!request.ok()) co_return request.status();
  const guardrails::Policy& policy = *tenant->guardrail_policy;
  std::vector<guardrails::Assessment> assessments = guardrails::ScanRequest(policy, *request);
  co_return HttpResponse::Json(200, guardrails::RenderApplyGuardrailResponse(
                                        policy, *request, assessments, MillisSince(started))
                                        .dump());
}

void AddBedrockRoutes(net::Router& router, GatewayDeps deps, GatewayMetrics& metrics) {
  const net::RouteOptions aws = ModelRouteOptions(net::ErrorStyle::kAws, net::AuthScheme::kSigV4);
  router.Add("POST", "/model/{modelId}/converse",
             [deps, &metrics](HttpRequest& r) { return Converse(r, deps, metrics, false); }, aws);
  router.Add("POST", "/model/{modelId}/converse-stream",
             [deps, &metrics](HttpRequest& r) { return Converse(r, deps, metrics, true); }, aws);
  router.Add("POST", "/model/{modelId}/invoke",
             [deps, &metrics](HttpRequest& r) { return Invoke(r, deps, metrics, false); }, aws);
  router.Add("POST", "/model/{modelId}/invoke-with-response-stream",
             [deps, &metrics](HttpRequest& r) { return Invoke(r, deps, metrics, true); }, aws);
  router.Add("POST", "/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply",
             [deps](HttpRequest& r) { return ApplyGuardrail(r, deps); }, aws);
}

}  // namespace basalt::api
