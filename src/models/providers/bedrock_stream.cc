#include "models/providers/bedrock_stream.h"

#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "core/json.h"
#include "core/strings.h"

namespace basalt::models {

namespace asio = boost::asio;

namespace {

// The "message" (or "Message") of an AWS error payload; empty when it has none.
std::string PayloadMessage(std::string_view payload) {
  auto json = ParseJson(payload, "exception payload");
  if (!json.ok() || !json->is_object()) return std::string(payload.substr(0, 300));
  for (const char* key : {"message", "Message"}) {
    auto it = json->find(key);
    if (it != json->end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

// The payload as JSON; an empty payload is an empty object.
absl::StatusOr<nlohmann::json> PayloadJson(const EventStreamReader& reader,
                                           const net::EventMessage& message) {
  if (message.payload.empty()) return nlohmann::json::object();
  auto json = ParseJson(message.payload, StrCat(reader.provider(), " stream event"));
  if (!json.ok()) return absl::UnavailableError(std::string(json.status().message()));
  return json;
}

}  // namespace

absl::Status BedrockExceptionStatus(std::string_view provider, std::string_view type,
                                    std::string_view payload) {
  const std::string message =
      StrCat(provider, " stream failed: ", type.empty() ? "exception" : type, ": ",
             PayloadMessage(payload));
  if (type == "throttlingException") return absl::ResourceExhaustedError(message);
  if (type == "validationException") return absl::InvalidArgumentError(message);
  if (type == "modelTimeoutException") return absl::DeadlineExceededError(message);
  return absl::UnavailableError(message);
}

EventStreamReader::EventStreamReader(std::unique_ptr<net::ClientStream> body, std::string provider)
    : body_(std::move(body)), provider_(std::move(provider)) {}

absl::Status EventStreamReader::Fail(absl::Status status) {
  status_ = status;
  pending_.clear();
  body_.reset();  // closes the upstream connection
  return status;
}

asio::awaitable<absl::StatusOr<std::optional<net::EventMessage>>> EventStreamReader::Next() {
  for (;;) {
    if (!status_.ok()) co_return status_;
    if (!pending_.empty()) {
      net::EventMessage message = std::move(pending_.front());
      pending_.pop_front();
      const std::string_view type = message.StringHeader(":message-type");
      if (type == "exception") {
        co_return Fail(BedrockExceptionStatus(provider_, message.StringHeader(":exception-type"),
                                              message.payload));
      }
      if (type == "error") {
        co_return Fail(absl::UnavailableError(
            StrCat(provider_, " stream failed: ", message.StringHeader(":error-code"), ": ",
                   message.StringHeader(":error-message"))));
      }
      if (!type.empty() && type != "event") continue;  // message types added later
      co_return std::optional<net::EventMessage>(std::move(message));
    }
    if (!decode_error_.ok()) co_return Fail(decode_error_);
    if (finished_) co_return std::optional<net::EventMessage>();
    absl::StatusOr<std::string> chunk = co_await body_->Next();
    if (!chunk.ok()) co_return Fail(chunk.status());
    if (chunk->empty()) {
      finished_ = true;
      if (decoder_.HasPartial()) {
        co_return Fail(absl::UnavailableError(
            StrCat(provider_, " stream ended inside an event-stream message")));
      }
      continue;
    }
    absl::Status fed = decoder_.Feed(
        *chunk, [this](net::EventMessage&& message) { pending_.push_back(std::move(message)); });
    if (!fed.ok()) {
      decode_error_ = absl::UnavailableError(
          StrCat(provider_, " sent a malformed event stream: ", fed.message()));
    }
  }
}

ConverseChatStream::ConverseChatStream(std::unique_ptr<net::ClientStream> body,
                                       std::string provider, std::string model)
    : reader_(std::move(body), std::move(provider)), model_(std::move(model)) {}

asio::awaitable<absl::StatusOr<std::optional<ChatDelta>>> ConverseChatStream::Next() {
  while (pending_.empty()) {
    if (finished_) co_return std::optional<ChatDelta>();
    absl::StatusOr<std::optional<net::EventMessage>> message = co_await reader_.Next();
    if (!message.ok()) co_return message.status();
    std::vector<ChatDelta> out;
    absl::Status status;
    if (!message->has_value()) {
      finished_ = true;
      status = parser_.Finish(&out);
      if (!status.ok()) {
        status = absl::Status(status.code(), StrCat(reader_.provider(), ": ", status.message()));
      }
    } else {
      const net::EventMessage& event = **message;
      absl::StatusOr<nlohmann::json> payload = PayloadJson(reader_, event);
      status = payload.ok() ? parser_.Feed(event.StringHeader(":event-type"), *payload, &out)
                            : payload.status();
    }
    if (!status.ok()) {
      finished_ = true;
      co_return status;
    }
    for (ChatDelta& delta : out) {
      if (delta.type == ChatDelta::Type::kMessageStart && delta.model.empty()) delta.model = model_;
      pending_.push_back(std::move(delta));
    }
  }
  ChatDelta next = std::move(pending_.front());
  pending_.pop_front();
  co_return std::optional<ChatDelta>(std::move(next));
}

InvokeResponseStream::InvokeResponseStream(std::unique_ptr<net::ClientStream> body,
                                           std::string provider)
    : reader_(std::move(body), std::move(provider)) {}

asio::awaitable<absl::StatusOr<std::optional<std::string>>> InvokeResponseStream::Next() {
  for (;;) {
    absl::StatusOr<std::optional<net::EventMessage>> message = co_await reader_.Next();
    if (!message.ok()) co_return message.status();
    if (!message->has_value()) co_return std::optional<std::string>();
    const net::EventMessage& event = **message;
    if (event.StringHeader(":event-type") != "chunk") continue;
    absl::StatusOr<nlohmann::json> payload = PayloadJson(reader_, event);
    if (!payload.ok()) co_return payload.status();
    auto bytes = payload->is_object() ? payload->find("bytes") : payload->end();
    if (!payload->is_object() || bytes == payload->end() || !bytes->is_string()) {
      co_return absl::UnavailableError(
          StrCat(reader_.provider(), " sent a chunk event without a base64 `bytes` field"));
    }
    std::string decoded;
    if (!absl::Base64Unescape(ToAbsl(bytes->get_ref<const std::string&>()), &decoded)) {
      co_return absl::UnavailableError(
          StrCat(reader_.provider(), " sent a chunk whose `bytes` is not valid base64"));
    }
    co_return std::optional<std::string>(std::move(decoded));
  }
}

}  // namespace basalt::models
