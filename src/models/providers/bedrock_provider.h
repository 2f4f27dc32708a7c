// Amazon Bedrock Runtime provider, signed with AWS Signature Version 4
// (service "bedrock"):
//   Chat        POST /model/{modelId}/converse
//   StreamChat  POST /model/{modelId}/converse-stream (AWS event-stream; bedrock_stream.h)
//   Embed       POST /model/{modelId}/invoke, one call per input, Titan-style bodies
//               only: {"inputText", "dimensions"?} → {"embedding", "inputTextTokenCount"}.
//               Other embedding families (Cohere, ...) take other bodies; Bedrock
//               rejects these with a ValidationException (kInvalidArgument).
//   ListModels  answers an empty list: listing foundation models is the control-plane
//               API (service "bedrock", ListFoundationModels), not bedrock-runtime.
// Beyond the port, InvokeModel and InvokeModelWithResponseStream pass a model's
// native body through untouched (the Bedrock-compatible serving API uses them).
//
// Endpoint: `endpoint` from the config (a VPC endpoint, or a local fake in tests),
// else https://bedrock-runtime.{region}.amazonaws.com. The model id is
// percent-encoded into the path (':' → %3A, '/' of an ARN → %2F), as the AWS SDKs do.
// Credentials and region are resolved once, at construction, as aws_credentials.h
// describes. Construction never fails, so basalt starts without AWS configured;
// calls then fail with kUnauthenticated naming where credentials were looked for,
// or kFailedPrecondition when no region is known.
//
// Errors: as provider.h. AWS error bodies ({"message"} plus the x-amzn-ErrorType
// header) map through UpstreamError by HTTP status; the message names the AWS
// error type, e.g. "bedrock answered HTTP 429: ThrottlingException: Too many
// requests". Event-stream exception frames map as bedrock_stream.h says.
//
// Thread-safety: shared by all io threads; each call uses the HttpClient of the
// io thread it runs on (ClientSet). Immutable after construction.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/config_sections.h"
#include "models/provider.h"
#include "models/providers/aws_credentials.h"
#include "models/providers/bedrock_stream.h"
#include "net/client_set.h"

namespace basalt::models {

class BedrockProvider final : public ModelProvider {
 public:
  // `getenv` is the environment credentials and region are resolved from (called
  // only here); `clock` gives the signing time and must outlive the provider.
  BedrockProvider(const ProviderConfig& config, const net::ClientSet& clients,
                  const GetEnv& getenv = ProcessEnv(), const Clock& clock = RealClock::Instance());

  std::string_view name() const override { return name_; }
  boost::asio::awaitable<absl::StatusOr<ChatResponse>> Chat(const RequestContext& ctx,
                                                            const ChatRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> StreamChat(
      const RequestContext& ctx, const ChatRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<EmbeddingResponse>> Embed(
      const RequestContext& ctx, const EmbeddingRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> ListModels(
      const RequestContext& ctx) override;

  // POST /model/{model_id}/invoke with `body` (the model's native JSON) as is;
  // returns the upstream's 2xx response body as is. `model_id` must stay valid
  // until the call completes.
  boost::asio::awaitable<absl::StatusOr<std::string>> InvokeModel(const RequestContext& ctx,
                                                                  std::string_view model_id,
                                                                  std::string body);

  // POST /model/{model_id}/invoke-with-response-stream. Returns once the upstream
  // accepted the call (status and headers received); the stream then yields the
  // decoded `bytes` of each chunk event.
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<InvokeResponseStream>>>
  InvokeModelWithResponseStream(const RequestContext& ctx, std::string_view model_id,
                                std::string body);

  // Where the credentials came from ("config", "environment", "profile 'x' in
  // <path>"), or the kUnauthenticated status calls fail with.
  absl::StatusOr<std::string> CredentialsSourceForTest() const;
  const std::string& endpoint() const { return endpoint_; }

 private:
  // A signed request to `endpoint_ + path`; fails without credentials or region.
  // `headers` go first (after Host), then the SigV4 ones.
  absl::StatusOr<net::ClientRequest> SignedRequest(const RequestContext& ctx, std::string path,
                                                   std::string body,
                                                   net::HttpHeaders headers) const;
  // Sends and returns a 2xx response, or the mapped error.
  boost::asio::awaitable<absl::StatusOr<net::ClientResponse>> Call(net::ClientRequest request);
  // Opens a streamed response and checks its status.
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<net::ClientStream>>> OpenStream(
      net::ClientRequest request);
  absl::Status Error(int http_status, const net::HttpHeaders& headers, std::string_view body) const;

  const std::string name_;
  const AwsResolution aws_;
  const std::string endpoint_;
  const std::chrono::milliseconds timeout_;
  const net::ClientSet& clients_;
  const Clock& clock_;
};

// "/model/{percent-encoded model_id}/{operation}".
std::string BedrockModelPath(std::string_view model_id, std::string_view operation);

}  // namespace basalt::models
