#include "net/eventstream.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace basalt::net {
namespace {

constexpr size_t kPreludeBytes = 12;
constexpr size_t kCrcBytes = 4;
constexpr size_t kMaxHeaderNameBytes = std::numeric_limits<uint8_t>::max();
constexpr size_t kMaxHeaderValueBytes = std::numeric_limits<uint16_t>::max();
constexpr size_t kMaxFrameBytes = std::numeric_limits<uint32_t>::max();
// Above this, a buffer that held one large message is released rather than kept.
constexpr size_t kRetainedBufferBytes = size_t{64} << 10;

uint32_t Crc32(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

uint64_t ReadBigEndian(std::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

void AppendBigEndian(std::string& out, uint64_t v, size_t width) {
  for (size_t i = width; i-- > 0;) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string Printable(std::string_view name) { return absl::CHexEscape(ToAbsl(name)); }

// Reads a headers block front to back; every Take is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool empty() const { return data_.empty(); }
  std::optional<std::string_view> Take(size_t n) {
    if (n > data_.size()) return std::nullopt;
    std::string_view out = data_.substr(0, n);
    data_.remove_prefix(n);
    return out;
  }

 private:
  std::string_view data_;
};

// The value bytes of a header, after its type tag (bools have none).
size_t ValueBytes(const EventHeaderValue& v) {
  switch (v.type()) {
    case EventHeaderType::kBoolTrue:
    case EventHeaderType::kBoolFalse:
      return 0;
    case EventHeaderType::kByte:
      return 1;
    case EventHeaderType::kInt16:
      return 2;
    case EventHeaderType::kInt32:
      return 4;
    case EventHeaderType::kInt64:
    case EventHeaderType::kTimestamp:
      return 8;
    case EventHeaderType::kByteArray:
      return 2 + std::get<EventByteArray>(v.value).bytes.size();
    case EventHeaderType::kString:
      return 2 + std::get<std::string>(v.value).size();
    case EventHeaderType::kUuid:
      return 16;
  }
  return 0;
}

void AppendValue(std::string& out, const EventHeaderValue& v) {
  out.push_back(static_cast<char>(v.type()));
  switch (v.type()) {
    case EventHeaderType::kBoolTrue:
    case EventHeaderType::kBoolFalse:
      break;
    case EventHeaderType::kByte:
      out.push_back(static_cast<char>(std::get<int8_t>(v.value)));
      break;
    case EventHeaderType::kInt16:
      AppendBigEndian(out, static_cast<uint16_t>(std::get<int16_t>(v.value)), 2);
      break;
    case EventHeaderType::kInt32:
      AppendBigEndian(out, static_cast<uint32_t>(std::get<int32_t>(v.value)), 4);
      break;
    case EventHeaderType::kInt64:
      AppendBigEndian(out, static_cast<uint64_t>(std::get<int64_t>(v.value)), 8);
      break;
    case EventHeaderType::kByteArray: {
      const std::string& bytes = std::get<EventByteArray>(v.value).bytes;
      AppendBigEndian(out, bytes.size(), 2);
      out += bytes;
      break;
    }
    case EventHeaderType::kString: {
      const std::string& s = std::get<std::string>(v.value);
      AppendBigEndian(out, s.size(), 2);
      out += s;
      break;
    }
    case EventHeaderType::kTimestamp:
      AppendBigEndian(out, static_cast<uint64_t>(std::get<EventTimestamp>(v.value).millis), 8);
      break;
    case EventHeaderType::kUuid:
      for (uint8_t b : std::get<EventUuid>(v.value).bytes) out.push_back(static_cast<char>(b));
      break;
  }
}

// The frame size of `message`, or why it cannot be framed.
absl::StatusOr<size_t> FrameBytes(const EventMessage& message) {
  size_t total = kEventStreamMinMessageBytes;
  for (const auto& [name, value] : message.headers) {
    if (name.size() > kMaxHeaderNameBytes) {
      return absl::InvalidArgumentError(
          StrCat("event stream: header name of ", name.size(), " bytes exceeds 255"));
    }
    const size_t value_bytes = ValueBytes(value);
    if (value_bytes > 2 + kMaxHeaderValueBytes) {
      return absl::InvalidArgumentError(
          StrCat("event stream: value of header \"", Printable(name), "\" exceeds 65535 bytes"));
    }
    total += 1 + name.size() + 1 + value_bytes;
  }
  if (message.payload.size() > kMaxFrameBytes || total > kMaxFrameBytes - message.payload.size()) {
    return absl::InvalidArgumentError("event stream: message exceeds 2^32 - 1 bytes");
  }
  return total + message.payload.size();
}

absl::StatusOr<EventHeaderValue> DecodeValue(Reader& r, uint8_t type, std::string_view name) {
  auto missing = [&] {
    return absl::InvalidArgumentError(StrCat("event stream: value of header \"", Printable(name),
                                             "\" runs past the end of the headers block"));
  };
  std::optional<std::string_view> bytes;
  switch (static_cast<EventHeaderType>(type)) {
    case EventHeaderType::kBoolTrue:
      return EventHeaderValue{true};
    case EventHeaderType::kBoolFalse:
      return EventHeaderValue{false};
    case EventHeaderType::kByte:
      if (!(bytes = r.Take(1))) return missing();
      return EventHeaderValue{static_cast<int8_t>(ReadBigEndian(*bytes))};
    case EventHeaderType::kInt16:
      if (!(bytes = r.Take(2))) return missing();
      return EventHeaderValue{static_cast<int16_t>(ReadBigEndian(*bytes))};
    case EventHeaderType::kInt32:
      if (!(bytes = r.Take(4))) return missing();
      return EventHeaderValue{static_cast<int32_t>(ReadBigEndian(*bytes))};
    case EventHeaderType::kInt64:
      if (!(bytes = r.Take(8))) return missing();
      return EventHeaderValue{static_cast<int64_t>(ReadBigEndian(*bytes))};
    case EventHeaderType::kByteArray:
    case EventHeaderType::kString: {
      std::optional<std::string_view> len = r.Take(2);
      if (!len || !(bytes = r.Take(ReadBigEndian(*len)))) return missing();
      if (type == static_cast<uint8_t>(EventHeaderType::kString)) {
        return EventHeaderValue{std::string(*bytes)};
      }
      return EventHeaderValue{EventByteArray{std::string(*bytes)}};
    }
    case EventHeaderType::kTimestamp:
      if (!(bytes = r.Take(8))) return missing();
      return EventHeaderValue{EventTimestamp{static_cast<int64_t>(ReadBigEndian(*bytes))}};
    case EventHeaderType::kUuid: {
      if (!(bytes = r.Take(16))) return missing();
      EventUuid uuid;
      std::copy(bytes->begin(), bytes->end(), uuid.bytes.begin());
      return EventHeaderValue{uuid};
    }
  }
  return absl::InvalidArgumentError(
      StrCat("event stream: header \"", Printable(name), "\" has unknown value type ", int{type}));
}

absl::StatusOr<std::vector<std::pair<std::string, EventHeaderValue>>> DecodeHeaders(
    std::string_view block) {
  std::vector<std::pair<std::string, EventHeaderValue>> headers;
  Reader r(block);
  while (!r.empty()) {
    // The loop condition guarantees the length byte is there.
    const size_t name_len = ReadBigEndian(*r.Take(1));
    std::optional<std::string_view> name = r.Take(name_len);
    if (!name) {
      return absl::InvalidArgumentError(
          "event stream: header name runs past the end of the headers block");
    }
    std::optional<std::string_view> type = r.Take(1);
    if (!type) {
      return absl::InvalidArgumentError(
          StrCat("event stream: header \"", Printable(*name), "\" has no value type"));
    }
    absl::StatusOr<EventHeaderValue> value =
        DecodeValue(r, static_cast<uint8_t>((*type)[0]), *name);
    if (!value.ok()) return value.status();
    headers.emplace_back(std::string(*name), *std::move(value));
  }
  return headers;
}

struct Prelude {
  size_t total;    // whole frame, prelude and CRCs included
  size_t headers;  // the headers block
};

// Checks the prelude CRC first, then the lengths it declares. `bytes` holds at least
// the 12 prelude bytes.
absl::StatusOr<Prelude> ParsePrelude(std::string_view bytes, size_t max_message_bytes) {
  const uint32_t declared_crc = ReadBigEndian(bytes.substr(8, 4));
  const uint32_t crc = Crc32(bytes.substr(0, 8));
  if (crc != declared_crc) {
    return absl::DataLossError(StrCat("event stream: prelude checksum mismatch (frame says 0x",
                                      absl::Hex(declared_crc, absl::kZeroPad8), ", computed 0x",
                                      absl::Hex(crc, absl::kZeroPad8), ")"));
  }
  const Prelude p{ReadBigEndian(bytes.substr(0, 4)), ReadBigEndian(bytes.substr(4, 4))};
  if (p.total < kEventStreamMinMessageBytes) {
    return absl::InvalidArgumentError(
        StrCat("event stream: message length ", p.total, " is below the 16-byte minimum"));
  }
  if (p.total > max_message_bytes) {
    return absl::InvalidArgumentError(StrCat("event stream: message length ", p.total,
                                             " exceeds the limit of ", max_message_bytes,
                                             " bytes"));
  }
  if (p.headers > p.total - kEventStreamMinMessageBytes) {
    return absl::InvalidArgumentError(StrCat("event stream: headers length ", p.headers,
                                             " does not fit in a message of ", p.total, " bytes"));
  }
  return p;
}

// Decodes a whole frame whose prelude `p` has been validated; frame.size() == p.total.
absl::StatusOr<EventMessage> DecodeFrame(std::string_view frame, const Prelude& p) {
  const uint32_t declared_crc = ReadBigEndian(frame.substr(p.total - kCrcBytes));
  const uint32_t crc = Crc32(frame.substr(0, p.total - kCrcBytes));
  if (crc != declared_crc) {
    return absl::DataLossError(StrCat("event stream: message checksum mismatch (frame says 0x",
                                      absl::Hex(declared_crc, absl::kZeroPad8), ", computed 0x",
                                      absl::Hex(crc, absl::kZeroPad8), ")"));
  }
  EventMessage message;
  auto headers = DecodeHeaders(frame.substr(kPreludeBytes, p.headers));
  if (!headers.ok()) return headers.status();
  message.headers = *std::move(headers);
  message.payload = std::string(
      frame.substr(kPreludeBytes + p.headers, p.total - kEventStreamMinMessageBytes - p.headers));
  return message;
}

EventMessage JsonFrame(std::string_view kind_header, std::string_view kind,
                       std::string_view message_type, std::string_view json_payload) {
  EventMessage m;
  m.headers.emplace_back(std::string(kind_header), EventHeaderValue{std::string(kind)});
  m.headers.emplace_back(":content-type", EventHeaderValue{std::string("application/json")});
  m.headers.emplace_back(":message-type", EventHeaderValue{std::string(message_type)});
  m.payload = std::string(json_payload);
  return m;
}

}  // namespace

EventHeaderType EventHeaderValue::type() const {
  if (const bool* b = std::get_if<bool>(&value)) {
    return *b ? EventHeaderType::kBoolTrue : EventHeaderType::kBoolFalse;
  }
  // The alternatives after bool are declared in wire-tag order starting at 2.
  return static_cast<EventHeaderType>(value.index() + 1);
}

const EventHeaderValue* EventMessage::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

std::string_view EventMessage::StringHeader(std::string_view name) const {
  const EventHeaderValue* v = Header(name);
  if (v == nullptr) return {};
  const std::string* s = std::get_if<std::string>(&v->value);
  return s == nullptr ? std::string_view() : std::string_view(*s);
}

absl::Status ValidateEventMessage(const EventMessage& message) {
  return FrameBytes(message).status();
}

std::string EncodeEventMessage(const EventMessage& message) {
  absl::StatusOr<size_t> total = FrameBytes(message);
  if (!total.ok()) return {};
  const size_t headers_bytes = *total - kEventStreamMinMessageBytes - message.payload.size();
  std::string out;
  out.reserve(*total);
  AppendBigEndian(out, *total, 4);
  AppendBigEndian(out, headers_bytes, 4);
  AppendBigEndian(out, Crc32(out), 4);
  for (const auto& [name, value] : message.headers) {
    out.push_back(static_cast<char>(name.size()));
    out += name;
    AppendValue(out, value);
  }
  out += message.payload;
  AppendBigEndian(out, Crc32(out), 4);
  return out;
}

std::string EncodeEvent(std::string_view event_type, std::string_view json_payload) {
  return EncodeEventMessage(JsonFrame(":event-type", event_type, "event", json_payload));
}

std::string EncodeException(std::string_view exception_type, std::string_view json_payload) {
  return EncodeEventMessage(
      JsonFrame(":exception-type", exception_type, "exception", json_payload));
}

absl::StatusOr<EventMessage> DecodeEventMessage(std::string_view frame) {
  if (frame.size() < kPreludeBytes) {
    return absl::InvalidArgumentError(
        StrCat("event stream: frame of ", frame.size(), " bytes is shorter than a prelude"));
  }
  absl::StatusOr<Prelude> p = ParsePrelude(frame, kMaxFrameBytes);
  if (!p.ok()) return p.status();
  if (p->total != frame.size()) {
    return absl::InvalidArgumentError(
        StrCat("event stream: frame of ", frame.size(), " bytes declares a length of ", p->total));
  }
  return DecodeFrame(frame, *p);
}

EventStreamDecoder::EventStreamDecoder(size_t max_message_bytes)
    : max_message_bytes_(max_message_bytes) {}

absl::Status EventStreamDecoder::Fail(absl::Status status) {
  status_ = std::move(status);
  std::string().swap(buffer_);
  expected_total_ = 0;
  return status_;
}

absl::Status EventStreamDecoder::Feed(std::string_view bytes,
                                      const std::function<void(EventMessage&&)>& on_message) {
  if (!status_.ok()) return status_;
  // First finish a message begun by an earlier Feed, copying only the bytes it needs.
  while (!buffer_.empty()) {
    const size_t want = expected_total_ == 0 ? kPreludeBytes : expected_total_;
    const size_t take = std::min(want - buffer_.size(), bytes.size());
    buffer_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (buffer_.size() < want) return absl::OkStatus();  // all of `bytes` consumed
    if (expected_total_ == 0) {
      absl::StatusOr<Prelude> p = ParsePrelude(buffer_, max_message_bytes_);
      if (!p.ok()) return Fail(p.status());
      expected_total_ = p->total;
      buffer_.reserve(expected_total_);  // bounded by max_message_bytes_ just checked
      continue;
    }
    // The prelude was validated when expected_total_ was set.
    const Prelude p{expected_total_, ReadBigEndian(std::string_view(buffer_).substr(4, 4))};
    absl::StatusOr<EventMessage> message = DecodeFrame(buffer_, p);
    if (!message.ok()) return Fail(message.status());
    if (buffer_.capacity() > kRetainedBufferBytes) {
      std::string().swap(buffer_);
    } else {
      buffer_.clear();
    }
    expected_total_ = 0;
    on_message(*std::move(message));
  }
  // Then decode whole messages straight from `bytes`, buffering only a trailing part.
  while (!bytes.empty()) {
    if (bytes.size() < kPreludeBytes) {
      buffer_.assign(bytes.data(), bytes.size());
      return absl::OkStatus();
    }
    absl::StatusOr<Prelude> p = ParsePrelude(bytes, max_message_bytes_);
    if (!p.ok()) return Fail(p.status());
    if (bytes.size() < p->total) {
      expected_total_ = p->total;
      buffer_.reserve(expected_total_);  // bounded by max_message_bytes_ just checked
      buffer_.assign(bytes.data(), bytes.size());
      return absl::OkStatus();
    }
    absl::StatusOr<EventMessage> message = DecodeFrame(bytes.substr(0, p->total), *p);
    if (!message.ok()) return Fail(message.status());
    bytes.remove_prefix(p->total);
    on_message(*std::move(message));
  }
  return absl::OkStatus();
}

}  // namespace basalt::net
