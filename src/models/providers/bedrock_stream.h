// Reading Bedrock's streamed answers: AWS event-stream messages
// (`application/vnd.amazon.eventstream`) from an upstream body, as ConverseStream
// chat deltas or as InvokeModelWithResponseStream payload chunks.
//
// A frame whose `:message-type` is "exception" ends the stream with the error its
// `:exception-type` names:
//   throttlingException                           → kResourceExhausted
//   validationException                           → kInvalidArgument
//   modelTimeoutException                         → kDeadlineExceeded
//   serviceUnavailableException, internalServerException,
//   modelStreamErrorException, and any other type → kUnavailable
// An "error" frame (`:error-code`, `:error-message`), a malformed or truncated
// frame, and a JSON payload that does not parse are kUnavailable.
//
// Thread-safety: one stream is used by one coroutine at a time, on the io thread
// whose HttpClient opened it.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "models/formats/converse_format.h"
#include "models/provider.h"
#include "net/eventstream.h"
#include "net/http_client.h"

namespace basalt::models {

// The Status for an exception frame; `provider` and `type` appear in the message
// with the payload's own "message".
absl::Status BedrockExceptionStatus(std::string_view provider, std::string_view type,
                                    std::string_view payload);

// The event messages of one upstream body, in order.
class EventStreamReader {
 public:
  EventStreamReader(std::unique_ptr<net::ClientStream> body, std::string provider);

  // The next message whose `:message-type` is "event" (or absent), or nullopt at
  // the end of the body. Errors as in the file comment; sticky.
  boost::asio::awaitable<absl::StatusOr<std::optional<net::EventMessage>>> Next();

  const std::string& provider() const { return provider_; }

 private:
  absl::Status Fail(absl::Status status);

  std::unique_ptr<net::ClientStream> body_;
  std::string provider_;
  net::EventStreamDecoder decoder_;
  std::deque<net::EventMessage> pending_;
  absl::Status status_;        // sticky: the error already returned
  absl::Status decode_error_;  // returned once the messages decoded before it are
  bool finished_ = false;
};

// ConverseStream: each event's `:event-type` and JSON payload go through
// converse::EventParser. The kMessageStart delta carries `model` (Converse
// events do not name it).
class ConverseChatStream final : public ChatStream {
 public:
  ConverseChatStream(std::unique_ptr<net::ClientStream> body, std::string provider,
                     std::string model);
  boost::asio::awaitable<absl::StatusOr<std::optional<ChatDelta>>> Next() override;

 private:
  EventStreamReader reader_;
  std::string model_;
  converse::EventParser parser_;
  std::deque<ChatDelta> pending_;
  bool finished_ = false;
};

// InvokeModelWithResponseStream: the base64-decoded `bytes` of each `chunk`
// event, i.e. the model's native streaming payloads (for Claude, one Anthropic
// Messages stream event per chunk). Other event types are skipped.
class InvokeResponseStream {
 public:
  InvokeResponseStream(std::unique_ptr<net::ClientStream> body, std::string provider);

  // The next chunk's bytes, or nullopt at the end of the stream. Destroying the
  // stream early closes the upstream connection.
  boost::asio::awaitable<absl::StatusOr<std::optional<std::string>>> Next();

 private:
  EventStreamReader reader_;
};

}  // namespace basalt::models
