// The stream the router hands back: the provider's stream, plus the concurrency
// slot, breaker verdict and metrics that belong to it until it ends.
#include <exception>
#include <utility>

#include "models/router/router_internal.h"

namespace basalt::models::router_internal {
namespace {

namespace asio = boost::asio;

class RoutedStream final : public ChatStream {
 public:
  explicit RoutedStream(StreamLease lease) : lease_(std::move(lease)) {}
  RoutedStream(const RoutedStream&) = delete;
  RoutedStream& operator=(const RoutedStream&) = delete;

  // Destroyed before the end: the client went away. The slot is freed and the
  // breaker learns nothing about the upstream.
  ~RoutedStream() override {
    if (!done_) Finish(absl::CancelledError("stream abandoned before its end"));
  }

  asio::awaitable<absl::StatusOr<std::optional<ChatDelta>>> Next() override {
    if (done_) {
      if (!final_.ok()) co_return final_;
      co_return std::nullopt;
    }
    const auto started = lease_.clock->Steady();
    absl::StatusOr<std::optional<ChatDelta>> item;
    try {
      item = co_await lease_.inner->Next();
    } catch (const std::exception&) {
      // asio throws into a coroutine that was cancelled; a status, not an exception.
      item = absl::CancelledError("stream read cancelled");
    }
    if (lease_.timing != nullptr) lease_.timing->upstream += lease_.clock->Steady() - started;
    if (!item.ok()) {
      Finish(item.status());
    } else if (!item->has_value()) {
      Finish(absl::OkStatus());
    } else if ((*item)->type == ChatDelta::Type::kUsage) {
      usage_ = (*item)->usage;  // the last report wins; counted once at the end
    }
    co_return item;
  }

 private:
  void Finish(absl::Status status) {
    done_ = true;
    final_ = status;
    lease_.permit.Release();
    const absl::StatusCode code = status.code();
    if (code == absl::StatusCode::kCancelled) {
      lease_.ticket.Abandon();
    } else if (IsRetryable(code)) {
      lease_.ticket.Failure();
    } else {
      lease_.ticket.Success();
    }
    const Leg& leg = *lease_.leg;
    if (status.ok()) {
      leg.ok->Inc();
    } else {
      lease_.metrics->CountRequest(lease_.label, leg.target->provider->name, code);
    }
    if (usage_.input_tokens > 0) leg.input_tokens->Inc(static_cast<double>(usage_.input_tokens));
    if (usage_.output_tokens > 0) {
      leg.output_tokens->Inc(static_cast<double>(usage_.output_tokens));
    }
    usage_ = Usage{};
  }

  StreamLease lease_;
  bool done_ = false;
  absl::Status final_;
  Usage usage_;
};

}  // namespace

std::unique_ptr<ChatStream> MakeRoutedStream(StreamLease lease) {
  return std::make_unique<RoutedStream>(std::move(lease));
}

}  // namespace basalt::models::router_internal
