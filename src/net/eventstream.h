// The AWS event-stream codec (`application/vnd.amazon.eventstream`), the framing of
// Bedrock ConverseStream / InvokeModelWithResponseStream responses. basalt decodes
// upstream streams with EventStreamDecoder and encodes its own with EncodeEvent.
//
// Wire format of one message (all integers big-endian):
//   total length (uint32) | headers length (uint32) | prelude CRC32 (of the first 8 bytes)
//   | headers | payload | message CRC32 (of every byte before it)
// Each header is: name length (uint8), name, value type (uint8), value. CRC32 is the
// IEEE (zlib) polynomial.
//
// Thread-safety: the free functions are pure. An EventStreamDecoder is a plain value;
// use one per stream from one thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt::net {

inline constexpr std::string_view kEventStreamContentType = "application/vnd.amazon.eventstream";

// Prelude (12 bytes) plus the trailing message CRC: the size of an empty message.
inline constexpr size_t kEventStreamMinMessageBytes = 16;

// The wire tags of header values.
enum class EventHeaderType : uint8_t {
  kBoolTrue = 0,
  kBoolFalse = 1,
  kByte = 2,
  kInt16 = 3,
  kInt32 = 4,
  kInt64 = 5,
  kByteArray = 6,
  kString = 7,
  kTimestamp = 8,
  kUuid = 9,
};

// Type 6: arbitrary bytes (distinct from type 7, a string).
struct EventByteArray {
  std::string bytes;
  bool operator==(const EventByteArray&) const = default;
};

// Type 8: milliseconds since the Unix epoch.
struct EventTimestamp {
  int64_t millis = 0;
  bool operator==(const EventTimestamp&) const = default;
};

// Type 9: the 16 raw bytes of a UUID.
struct EventUuid {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const EventUuid&) const = default;
};

// One header value. The variant's alternatives map onto the wire types: bool (0 or 1
// by value), int8_t (2), int16_t (3), int32_t (4), int64_t (5), EventByteArray (6),
// std::string (7), EventTimestamp (8), EventUuid (9). Build one with aggregate
// initialisation, e.g. `EventHeaderValue{std::string("application/json")}` or
// `EventHeaderValue{int32_t{7}}`.
struct EventHeaderValue {
  std::variant<bool, int8_t, int16_t, int32_t, int64_t, EventByteArray, std::string, EventTimestamp,
               EventUuid>
      value;

  EventHeaderType type() const;
  bool operator==(const EventHeaderValue&) const = default;
};

struct EventMessage {
  // In wire order; a name may repeat.
  std::vector<std::pair<std::string, EventHeaderValue>> headers;
  std::string payload;

  // The first header named `name`, or nullptr.
  const EventHeaderValue* Header(std::string_view name) const;
  // The first header named `name` if it is a string (type 7); otherwise empty. The
  // view points into this message.
  std::string_view StringHeader(std::string_view name) const;

  bool operator==(const EventMessage&) const = default;
};

// OK when `message` can be framed: every header name at most 255 bytes, every string
// or byte-array value at most 65535 bytes, and the whole frame at most 2^32 - 1 bytes.
// Otherwise kInvalidArgument naming the offending header.
absl::Status ValidateEventMessage(const EventMessage& message);

// The wire bytes of `message`. Precondition: ValidateEventMessage(message).ok(); a
// message that cannot be framed yields an EMPTY string (a frame is never empty), so a
// broken caller never puts a corrupt frame on the wire.
std::string EncodeEventMessage(const EventMessage& message);

// A Bedrock-style event: headers `:event-type` = event_type, `:content-type` =
// "application/json", `:message-type` = "event", in that order (as AWS sends them).
std::string EncodeEvent(std::string_view event_type, std::string_view json_payload);

// A Bedrock-style modelled exception: headers `:exception-type` = exception_type,
// `:content-type` = "application/json", `:message-type` = "exception", in that order.
std::string EncodeException(std::string_view exception_type, std::string_view json_payload);

// Decodes exactly one whole message: `frame` must hold the message and nothing else.
// Errors as EventStreamDecoder::Feed, plus kInvalidArgument when `frame` is shorter
// or longer than the length its prelude declares.
absl::StatusOr<EventMessage> DecodeEventMessage(std::string_view frame);

// Incremental decoder for a stream of messages.
class EventStreamDecoder {
 public:
  // A message whose declared total length exceeds `max_message_bytes` is rejected from
  // its prelude alone, before any of it is buffered; this bounds the decoder's memory.
  explicit EventStreamDecoder(size_t max_message_bytes = size_t{16} << 20);

  // Consumes the next bytes of the stream, which may be split anywhere, and calls
  // `on_message` for every message they complete, in order. The prelude CRC is checked
  // before its lengths are trusted. Messages completed before an error are still
  // delivered. Errors:
  //   kDataLoss         "prelude checksum mismatch" or "message checksum mismatch";
  //   kInvalidArgument  a CRC-valid frame that is malformed: total length below 16 or
  //                     above `max_message_bytes`, headers length above total - 16, a
  //                     header running past its block, or an unknown header type.
  // After an error the decoder stays failed: later calls return the same status and
  // the buffered bytes are released. `on_message` must not call Feed on this decoder.
  absl::Status Feed(std::string_view bytes, const std::function<void(EventMessage&&)>& on_message);

  // True while bytes of an incomplete message are buffered; at the end of a stream
  // this means the stream was truncated.
  bool HasPartial() const { return !buffer_.empty(); }

  // Bytes held for the incomplete message; never more than `max_message_bytes`.
  size_t buffered_bytes() const { return buffer_.size(); }

 private:
  absl::Status Fail(absl::Status status);

  size_t max_message_bytes_;
  absl::Status status_;        // sticky: the first error
  std::string buffer_;         // the start of an incomplete message
  size_t expected_total_ = 0;  // its validated total length; 0 until its prelude is whole
};

}  // namespace basalt::net
