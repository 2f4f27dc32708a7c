// ModelProvider: the port every model backend implements (openai, anthropic,
// bedrock, builtin). The router and every pattern call models only through it.
//
// Thread-safety: a provider is shared by all io threads; its methods may be
// called concurrently from any of them. Calls are coroutines and never block
// the calling io thread (network I/O is asynchronous; CPU-heavy work goes to the
// BlockingPool).
//
// Deadlines and cancellation: every call takes the request's context. The
// provider must give up by ctx.deadline (kDeadlineExceeded) and must stop its
// upstream call promptly when the awaiting coroutine is cancelled (the client
// went away).
//
// Errors (what the router acts on):
//   kInvalidArgument     the request is invalid for this model (never retried)
//   kUnauthenticated / kPermissionDenied   upstream refused our credentials
//   kNotFound            unknown upstream model
//   kResourceExhausted   upstream 429; a retry-after hint travels as a payload
//                        (see RetryAfterOf in router/retry_after.h)
//   kUnavailable         upstream 5xx, connection refused or reset (retryable)
//   kDeadlineExceeded    timed out (retryable within the overall deadline)
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "absl/status/statusor.h"
#include "core/context.h"
#include "models/types.h"

namespace basalt::models {

// An answer being streamed. Next() yields deltas in order and then nullopt.
// Destroying the stream early cancels the upstream call.
class ChatStream {
 public:
  virtual ~ChatStream() = default;
  virtual boost::asio::awaitable<absl::StatusOr<std::optional<ChatDelta>>> Next() = 0;
};

class ModelProvider {
 public:
  virtual ~ModelProvider() = default;

  // The provider's registered name ("openai", "builtin", ...).
  virtual std::string_view name() const = 0;

  // `request.model` is the upstream model id (the router has resolved aliases).
  virtual boost::asio::awaitable<absl::StatusOr<ChatResponse>> Chat(const RequestContext& ctx,
                                                                   const ChatRequest& request) = 0;

  // Returns once the upstream has accepted the call (status and headers
  // received), so failures before the first byte can still fall back.
  virtual boost::asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> StreamChat(
      const RequestContext& ctx, const ChatRequest& request) = 0;

  virtual boost::asio::awaitable<absl::StatusOr<EmbeddingResponse>> Embed(
      const RequestContext& ctx, const EmbeddingRequest& request) = 0;

  virtual boost::asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> ListModels(
      const RequestContext& ctx) = 0;
};

}  // namespace basalt::models
