// Bedrock Runtime-compatible endpoints, following the shapes of the
// bedrock-runtime 2023-09-30 service model, with AWS error shapes
// (x-amzn-ErrorType + {"message"}) and SigV4 authentication:
//   POST /model/{modelId}/converse
//   POST /model/{modelId}/converse-stream            (application/vnd.amazon.eventstream)
//   POST /model/{modelId}/invoke                      (Anthropic Messages body and answer)
//   POST /model/{modelId}/invoke-with-response-stream (Anthropic events in `chunk` frames)
// boto3 and the AWS SDKs work once their endpoint URL points at basalt.
#pragma once

#include "api/gateway.h"
#include "net/router.h"

namespace basalt::api {

void AddBedrockRoutes(net::Router& router, GatewayDeps deps, GatewayMetrics& metrics);

}  // namespace basalt::api
