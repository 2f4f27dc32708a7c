// Anthropic-compatible endpoint: POST /v1/messages, plain and streaming
// (message_start, content_block_*, message_delta, message_stop). Errors use
// the native envelope, whose `error.type` matches Anthropic's error types.
#pragma once

#include "api/gateway.h"
#include "net/router.h"

namespace basalt::api {

void AddAnthropicRoutes(net::Router& router, GatewayDeps deps, GatewayMetrics& metrics);

// The streaming body for an Anthropic-shaped answer: `emit` writes one
// (event, json) pair. Shared with Bedrock InvokeModelWithResponseStream, which
// carries the same events inside event-stream frames.
using AnthropicEmit =
    std::function<boost::asio::awaitable<absl::Status>(const std::string&, const nlohmann::json&)>;
boost::asio::awaitable<absl::Status> RelayAnthropicEvents(RelayState& state,
                                                          const AnthropicEmit& emit);

}  // namespace basalt::api
