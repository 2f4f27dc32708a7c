#include "models/providers/bedrock_provider.h"

#include <utility>

#include "core/json.h"
#include "core/strings.h"
#include "models/formats/converse_format.h"
#include "models/providers/upstream.h"
#include "net/http_connection.h"
#include "net/sigv4.h"

namespace basalt::models {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::string_view kJson = "application/json";

std::string Endpoint(const ProviderConfig& config, const std::string& region) {
  std::string url = config.endpoint;
  if (url.empty() && !region.empty())
    url = StrCat("https://bedrock-runtime.", region, ".amazonaws.com");
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// JSON text that never throws on invalid UTF-8 in the canonical request's strings.
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The AWS error's own message ({"message"} or {"Message"}), else the body's start.
std::string AwsMessage(std::string_view body) {
  auto parsed = ParseJson(body, "upstream error");
  if (parsed.ok() && parsed->is_object()) {
    for (const char* key : {"message", "Message"}) {
      auto it = parsed->find(key);
      if (it != parsed->end() && it->is_string()) return it->get<std::string>();
    }
  }
  std::string text(body.substr(0, 300));
  return text.empty() ? "no details" : text;
}

// The AWS error type: x-amzn-ErrorType ("ThrottlingException:http://..."), else
// the body's "__type" ("com.amazon.coral...#ThrottlingException").
std::string AwsErrorType(const net::HttpHeaders& headers, std::string_view body) {
  std::string_view type = net::FindHeader(headers, "x-amzn-ErrorType");
  std::string from_body;
  if (type.empty()) {
    auto parsed = ParseJson(body, "upstream error");
    if (parsed.ok() && parsed->is_object()) {
      auto it = parsed->find("__type");
      if (it != parsed->end() && it->is_string()) from_body = it->get<std::string>();
    }
    type = from_body;
    if (size_t hash = type.rfind('#'); hash != std::string_view::npos) type.remove_prefix(hash + 1);
  }
  return std::string(type.substr(0, type.find(':')));
}

}  // namespace

std::string BedrockModelPath(std::string_view model_id, std::string_view operation) {
  return StrCat("/model/", sigv4::UriEncode(model_id, /*keep_slash=*/false), "/", operation);
}

BedrockProvider::BedrockProvider(const ProviderConfig& config, const net::ClientSet& clients,
                                 const GetEnv& getenv, const Clock& clock)
    : name_(config.name),
      aws_(ResolveAws(config, getenv)),
      endpoint_(Endpoint(config, aws_.region)),
      timeout_(config.timeout_ms),
      clients_(clients),
      clock_(clock) {}

absl::StatusOr<std::string> BedrockProvider::CredentialsSourceForTest() const {
  if (!aws_.credentials.ok()) return aws_.credentials.status();
  return aws_.credentials_source;
}

absl::StatusOr<net::ClientRequest> BedrockProvider::SignedRequest(const RequestContext& ctx,
                                                                  std::string path,
                                                                  std::string body,
                                                                  net::HttpHeaders headers) const {
  if (!aws_.credentials.ok()) {
    return absl::UnauthenticatedError(
        StrCat("bedrock provider '", name_, "': ", aws_.credentials.status().message()));
  }
  if (aws_.region.empty()) {
    return absl::FailedPreconditionError(
        StrCat("bedrock provider '", name_,
               "': no AWS region: set `region` in its config, or AWS_REGION / AWS_DEFAULT_REGION"));
  }
  net::ClientRequest request;
  request.method = "POST";
  request.url = endpoint_ + path;
  request.deadline = CallDeadline(ctx, timeout_);
  // Sign exactly the Host and target the client will send.
  auto target = net::client_internal::ParseTarget(request.url);
  if (!target.ok()) {
    return absl::FailedPreconditionError(StrCat("bedrock provider '", name_, "': endpoint '",
                                                endpoint_, "': ", target.status().message()));
  }
  sigv4::SignableRequest signable;
  signable.method = request.method;
  const std::string& wire_target = target->request_target;
  const size_t question = wire_target.find('?');
  signable.path = wire_target.substr(0, question);
  if (question != std::string::npos) signable.query = wire_target.substr(question + 1);
  signable.headers.emplace_back("Host", target->host_header);
  for (auto& header : headers) signable.headers.push_back(std::move(header));
  if (!ctx.request_id.empty()) signable.headers.emplace_back("X-Request-Id", ctx.request_id);
  signable.body = std::move(body);

  sigv4::SigningParams params;
  params.region = aws_.region;
  params.service = "bedrock";
  params.time = clock_.Now();
  absl::Status signed_ok = sigv4::SignHeaders(signable, *aws_.credentials, params);
  if (!signed_ok.ok()) {
    return absl::Status(signed_ok.code(),
                        StrCat("bedrock provider '", name_, "': signing: ", signed_ok.message()));
  }
  request.headers = std::move(signable.headers);
  request.body = std::move(signable.body);
  return request;
}

absl::Status BedrockProvider::Error(int http_status, const net::HttpHeaders& headers,
                                    std::string_view body) const {
  const std::string type = AwsErrorType(headers, body);
  if (type.empty()) return UpstreamError(name_, http_status, headers, body, clock_);
  const std::string annotated = Dump(json{{"message", StrCat(type, ": ", AwsMessage(body))}});
  return UpstreamError(name_, http_status, headers, annotated, clock_);
}

asio::awaitable<absl::StatusOr<net::ClientResponse>> BedrockProvider::Call(
    net::ClientRequest request) {
  absl::StatusOr<net::HttpClient*> client = co_await clients_.Current();
  if (!client.ok()) co_return client.status();
  absl::StatusOr<net::ClientResponse> response = co_await (*client)->Send(std::move(request));
  if (!response.ok()) co_return response.status();
  if (response->status < 200 || response->status > 299) {
    co_return Error(response->status, response->headers, response->body);
  }
  co_return response;
}

asio::awaitable<absl::StatusOr<std::unique_ptr<net::ClientStream>>> BedrockProvider::OpenStream(
    net::ClientRequest request) {
  absl::StatusOr<net::HttpClient*> client = co_await clients_.Current();
  if (!client.ok()) co_return client.status();
  absl::StatusOr<std::unique_ptr<net::ClientStream>> body =
      co_await (*client)->Open(std::move(request));
  if (!body.ok()) co_return body.status();
  if ((*body)->status() < 200 || (*body)->status() > 299) {
    const std::string text = co_await ReadSome(**body);
    co_return Error((*body)->status(), (*body)->headers(), text);
  }
  co_return body;
}

asio::awaitable<absl::StatusOr<ChatResponse>> BedrockProvider::Chat(const RequestContext& ctx,
                                                                    const ChatRequest& request) {
  absl::Status renderable = converse::CheckRenderable(request);
  if (!renderable.ok()) co_return renderable;
  net::HttpHeaders headers = {{"Content-Type", std::string(kJson)}, {"Accept", std::string(kJson)}};
  absl::StatusOr<net::ClientRequest> signed_request =
      SignedRequest(ctx, BedrockModelPath(request.model, "converse"),
                    Dump(converse::RenderChatRequest(request)), std::move(headers));
  if (!signed_request.ok()) co_return signed_request.status();
  net::ClientRequest call = *std::move(signed_request);
  absl::StatusOr<net::ClientResponse> response = co_await Call(std::move(call));
  if (!response.ok()) co_return response.status();
  auto body = ParseJson(response->body, StrCat(name_, " response"));
  if (!body.ok()) co_return absl::UnavailableError(std::string(body.status().message()));
  absl::StatusOr<ChatResponse> parsed = converse::ParseChatResponse(*body);
  if (!parsed.ok()) {
    co_return absl::UnavailableError(
        StrCat(name_, " sent an unreadable answer: ", parsed.status().message()));
  }
  parsed->model = request.model;
  if (parsed->id.empty()) parsed->id = std::string(response->Header("x-amzn-RequestId"));
  co_return parsed;
}

asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> BedrockProvider::StreamChat(
    const RequestContext& ctx, const ChatRequest& request) {
  absl::Status renderable = converse::CheckRenderable(request);
  if (!renderable.ok()) co_return renderable;
  net::HttpHeaders headers = {{"Content-Type", std::string(kJson)},
                              {"Accept", std::string(net::kEventStreamContentType)}};
  absl::StatusOr<net::ClientRequest> signed_request =
      SignedRequest(ctx, BedrockModelPath(request.model, "converse-stream"),
                    Dump(converse::RenderChatRequest(request)), std::move(headers));
  if (!signed_request.ok()) co_return signed_request.status();
  net::ClientRequest call = *std::move(signed_request);
  absl::StatusOr<std::unique_ptr<net::ClientStream>> body = co_await OpenStream(std::move(call));
  if (!body.ok()) co_return body.status();
  co_return std::unique_ptr<ChatStream>(
      std::make_unique<ConverseChatStream>(*std::move(body), name_, request.model));
}

asio::awaitable<absl::StatusOr<EmbeddingResponse>> BedrockProvider::Embed(
    const RequestContext& ctx, const EmbeddingRequest& request) {
  EmbeddingResponse out;
  out.model = request.model;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    json titan = {{"inputText", request.inputs[i]}};
    if (request.dimensions.has_value()) titan["dimensions"] = *request.dimensions;
    net::HttpHeaders headers = {{"Content-Type", std::string(kJson)},
                                {"Accept", std::string(kJson)}};
    absl::StatusOr<net::ClientRequest> signed_request = SignedRequest(
        ctx, BedrockModelPath(request.model, "invoke"), Dump(titan), std::move(headers));
    if (!signed_request.ok()) co_return signed_request.status();
    net::ClientRequest call = *std::move(signed_request);
    absl::StatusOr<net::ClientResponse> response = co_await Call(std::move(call));
    if (!response.ok()) co_return response.status();
    auto body = ParseJson(response->body, StrCat(name_, " embedding response"));
    const json* embedding = nullptr;
    if (body.ok() && body->is_object()) {
      auto it = body->find("embedding");
      if (it != body->end() && it->is_array()) embedding = &*it;
    }
    if (embedding == nullptr) {
      co_return absl::UnavailableError(
          StrCat(name_, " sent no `embedding` array for input ", i,
                 " (only Titan-style embedding models are supported)"));
    }
    std::vector<float> vector;
    vector.reserve(embedding->size());
    for (const json& value : *embedding) {
      if (!value.is_number()) {
        co_return absl::UnavailableError(
            StrCat(name_, " sent a non-numeric embedding value for input ", i));
      }
      vector.push_back(value.get<float>());
    }
    out.embeddings.push_back(std::move(vector));
    auto tokens = body->find("inputTextTokenCount");
    if (tokens != body->end() && tokens->is_number_integer()) {
      out.usage.input_tokens += tokens->get<int64_t>();
    }
  }
  co_return out;
}

asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> BedrockProvider::ListModels(
    const RequestContext&) {
  co_return std::vector<ModelInfo>();
}

asio::awaitable<absl::StatusOr<std::string>> BedrockProvider::InvokeModel(const RequestContext& ctx,
                                                                          std::string_view model_id,
                                                                          std::string body) {
  net::HttpHeaders headers = {{"Content-Type", std::string(kJson)}, {"Accept", std::string(kJson)}};
  absl::StatusOr<net::ClientRequest> signed_request =
      SignedRequest(ctx, BedrockModelPath(model_id, "invoke"), std::move(body), std::move(headers));
  if (!signed_request.ok()) co_return signed_request.status();
  net::ClientRequest call = *std::move(signed_request);
  absl::StatusOr<net::ClientResponse> response = co_await Call(std::move(call));
  if (!response.ok()) co_return response.status();
  co_return std::move(response->body);
}

asio::awaitable<absl::StatusOr<std::unique_ptr<InvokeResponseStream>>>
BedrockProvider::InvokeModelWithResponseStream(const RequestContext& ctx, std::string_view model_id,
                                               std::string body) {
  net::HttpHeaders headers = {{"Content-Type", std::string(kJson)},
                              {"Accept", std::string(net::kEventStreamContentType)},
                              {"X-Amzn-Bedrock-Accept", std::string(kJson)}};
  absl::StatusOr<net::ClientRequest> signed_request =
      SignedRequest(ctx, BedrockModelPath(model_id, "invoke-with-response-stream"), std::move(body),
                    std::move(headers));
  if (!signed_request.ok()) co_return signed_request.status();
  net::ClientRequest call = *std::move(signed_request);
  absl::StatusOr<std::unique_ptr<net::ClientStream>> stream = co_await OpenStream(std::move(call));
  if (!stream.ok()) co_return stream.status();
  co_return std::make_unique<InvokeResponseStream>(*std::move(stream), name_);
}

}  // namespace basalt::models
