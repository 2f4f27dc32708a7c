#include "models/providers/upstream.h"

#include "core/json.h"
#include "core/strings.h"
#include "models/router/retry_after.h"

namespace basalt::models {

namespace {

// The upstream's own error message, from the shapes OpenAI, Anthropic and AWS use.
std::string UpstreamMessage(std::string_view body) {
  auto json = ParseJson(body, "upstream error");
  if (json.ok() && json->is_object()) {
    const auto& j = *json;
    if (j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
        j["error"]["message"].is_string()) {
      return j["error"]["message"].get<std::string>();
    }
    if (j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
    for (const char* key : {"message", "Message", "detail"}) {
      if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
    }
  }
  std::string text(body.substr(0, 300));
  return text.empty() ? "no details" : text;
}

}  // namespace

absl::Status UpstreamError(std::string_view provider, int http_status,
                           const net::HttpHeaders& headers, std::string_view body,
                           const Clock& clock) {
  const std::string message = StrCat(provider, " answered HTTP ", http_status, ": ",
                                     UpstreamMessage(body));
  absl::Status status;
  switch (http_status) {
    case 400: case 413: case 422: status = absl::InvalidArgumentError(message); break;
    case 401: status = absl::UnauthenticatedError(message); break;
    case 403: status = absl::PermissionDeniedError(message); break;
    case 404: status = absl::NotFoundError(message); break;
    case 408: status = absl::DeadlineExceededError(message); break;
    case 429: status = absl::ResourceExhaustedError(message); break;
    default:
      status = http_status >= 500 ? absl::UnavailableError(message)
                                  : absl::InvalidArgumentError(message);
  }
  if (http_status == 429 || http_status >= 500) {
    std::optional<std::chrono::milliseconds> after =
        ParseRetryAfterMs(net::FindHeader(headers, "retry-after-ms"));
    if (!after) after = ParseRetryAfter(net::FindHeader(headers, "retry-after"), clock.Now());
    if (after) status = WithRetryAfter(std::move(status), *after);
  }
  return status;
}

boost::asio::awaitable<std::string> ReadSome(net::ClientStream& stream, size_t limit) {
  std::string out;
  while (out.size() < limit) {
    auto chunk = co_await stream.Next();
    if (!chunk.ok() || chunk->empty()) break;
    out += *chunk;
  }
  if (out.size() > limit) out.resize(limit);
  co_return out;
}

std::chrono::steady_clock::time_point CallDeadline(const RequestContext& ctx,
                                                   std::chrono::milliseconds provider_timeout) {
  const auto by_timeout = std::chrono::steady_clock::now() + provider_timeout;
  return std::min(ctx.deadline, by_timeout);
}

SseChatStream::SseChatStream(std::unique_ptr<net::ClientStream> body, OnEvent on_event,
                             OnFinish on_finish)
    : body_(std::move(body)), on_event_(std::move(on_event)), on_finish_(std::move(on_finish)) {}

boost::asio::awaitable<absl::StatusOr<std::optional<ChatDelta>>> SseChatStream::Next() {
  while (pending_.empty()) {
    if (finished_) co_return std::optional<ChatDelta>();
    auto chunk = co_await body_->Next();
    if (!chunk.ok()) co_return chunk.status();
    std::vector<ChatDelta> out;
    if (chunk->empty()) {
      finished_ = true;
      absl::Status s = on_finish_(&out);
      if (!s.ok()) co_return s;
    } else {
      absl::Status event_status;
      absl::Status s = sse_.Feed(*chunk, [&](net::SseEvent&& event) {
        if (event_status.ok()) event_status = on_event_(event, &out);
      });
      if (!s.ok()) co_return s;
      if (!event_status.ok()) co_return event_status;
    }
    for (auto& d : out) pending_.push_back(std::move(d));
  }
  ChatDelta next = std::move(pending_.front());
  pending_.pop_front();
  co_return std::optional<ChatDelta>(std::move(next));
}

}  // namespace basalt::models
