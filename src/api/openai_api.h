// OpenAI-compatible endpoints: POST /v1/chat/completions (plain, SSE streaming
// with stream_options.include_usage, tools), POST /v1/embeddings, GET
// /v1/models. Errors use OpenAI's envelope. Any OpenAI SDK works unchanged once
// its base URL points at basalt.
#pragma once

#include "api/gateway.h"
#include "net/router.h"

namespace basalt::api {

void AddOpenAiRoutes(net::Router& router, GatewayDeps deps, GatewayMetrics& metrics);

}  // namespace basalt::api
