// Helpers shared by the HTTP model providers: turning an upstream's HTTP
// failure into the Status the router acts on, and a ChatStream that reads
// Server-Sent Events from an upstream body and turns them into canonical deltas.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/clock.h"
#include "core/context.h"
#include "models/provider.h"
#include "net/http_client.h"
#include "net/sse_parser.h"

namespace basalt::models {

// The Status for an upstream answer with a non-2xx HTTP status:
//   400, 404 (model), 413, 422 → kInvalidArgument / kNotFound (not retried)
//   401 → kUnauthenticated, 403 → kPermissionDenied
//   408 → kDeadlineExceeded, 429 → kResourceExhausted (+ Retry-After hint)
//   5xx, 529 → kUnavailable (+ Retry-After hint when given)
// The message names the provider and carries the upstream's own error message.
absl::Status UpstreamError(std::string_view provider, int http_status,
                           const net::HttpHeaders& headers, std::string_view body,
                           const Clock& clock = RealClock::Instance());

// Reads at most `limit` bytes of a streamed body (for error bodies).
boost::asio::awaitable<std::string> ReadSome(net::ClientStream& stream, size_t limit = 64 * 1024);

// The deadline for one upstream call: the request's, capped by the provider's
// own timeout.
std::chrono::steady_clock::time_point CallDeadline(const RequestContext& ctx,
                                                   std::chrono::milliseconds provider_timeout);

// A ChatStream over an SSE body. `on_event` turns one event into zero or more
// deltas (and may report an error); `on_finish` runs at the end of the body.
class SseChatStream final : public ChatStream {
 public:
  using OnEvent = std::function<absl::Status(const net::SseEvent&, std::vector<ChatDelta>*)>;
  using OnFinish = std::function<absl::Status(std::vector<ChatDelta>*)>;
  SseChatStream(std::unique_ptr<net::ClientStream> body, OnEvent on_event, OnFinish on_finish);
  boost::asio::awaitable<absl::StatusOr<std::optional<ChatDelta>>> Next() override;

 private:
  std::unique_ptr<net::ClientStream> body_;
  OnEvent on_event_;
  OnFinish on_finish_;
  net::SseParser sse_;
  std::deque<ChatDelta> pending_;
  bool finished_ = false;
};

}  // namespace basalt::models
