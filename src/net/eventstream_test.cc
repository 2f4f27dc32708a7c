#include "net/eventstream.h"

#include <zlib.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace basalt::net {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Decoded {
  std::vector<EventMessage> messages;
  absl::Status status;
  bool partial = false;
};

// Feeds `chunks` in order to a fresh decoder, stopping at the first error.
Decoded DecodeChunks(const std::vector<std::string>& chunks, size_t max = size_t{16} << 20) {
  EventStreamDecoder decoder(max);
  Decoded out;
  for (const std::string& chunk : chunks) {
    out.status =
        decoder.Feed(chunk, [&](EventMessage&& m) { out.messages.push_back(std::move(m)); });
    if (!out.status.ok()) break;
  }
  out.partial = decoder.HasPartial();
  return out;
}

Decoded DecodeWhole(std::string_view bytes, size_t max = size_t{16} << 20) {
  return DecodeChunks({std::string(bytes)}, max);
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

std::string BigEndian32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

uint32_t Crc(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

// A prelude with a correct CRC for whatever lengths it declares.
std::string Prelude(uint32_t total, uint32_t headers) {
  std::string p = BigEndian32(total) + BigEndian32(headers);
  return p + BigEndian32(Crc(p));
}

// A hand-built frame with correct CRCs around arbitrary (possibly malformed) contents.
std::string Frame(uint32_t total, uint32_t headers, std::string_view body) {
  std::string f = Prelude(total, headers);
  f += body;
  return f + BigEndian32(Crc(f));
}

EventMessage AllTypes() {
  EventUuid uuid;
  for (int i = 0; i < 16; ++i) uuid.bytes[i] = static_cast<uint8_t>(0xf0 + i);
  EventMessage m;
  m.headers = {
      {"true", EventHeaderValue{true}},
      {"false", EventHeaderValue{false}},
      {"byte", EventHeaderValue{int8_t{-128}}},
      {"int16", EventHeaderValue{int16_t{-12345}}},
      {"int32", EventHeaderValue{std::numeric_limits<int32_t>::min()}},
      {"int64", EventHeaderValue{std::numeric_limits<int64_t>::max()}},
      {"bytes", EventHeaderValue{EventByteArray{std::string("\0\xff\x01", 3)}}},
      {"string", EventHeaderValue{std::string("h\xc3\xa9llo")}},
      {"timestamp", EventHeaderValue{EventTimestamp{-1700000000123}}},
      {"uuid", EventHeaderValue{uuid}},
      {"", EventHeaderValue{std::string()}},
  };
  m.payload = std::string("{\"a\":1}\0tail", 12);
  return m;
}

TEST(EventStreamTest, HeaderTypesMatchWireTags) {
  const EventMessage m = AllTypes();
  const std::vector<EventHeaderType> want = {
      EventHeaderType::kBoolTrue,  EventHeaderType::kBoolFalse, EventHeaderType::kByte,
      EventHeaderType::kInt16,     EventHeaderType::kInt32,     EventHeaderType::kInt64,
      EventHeaderType::kByteArray, EventHeaderType::kString,    EventHeaderType::kTimestamp,
      EventHeaderType::kUuid,      EventHeaderType::kString};
  ASSERT_EQ(m.headers.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(m.headers[i].second.type(), want[i]) << i;
}

TEST(EventStreamTest, RoundTripsEveryHeaderType) {
  const EventMessage m = AllTypes();
  ASSERT_TRUE(ValidateEventMessage(m).ok());
  const std::string wire = EncodeEventMessage(m);
  absl::StatusOr<EventMessage> back = DecodeEventMessage(wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, m);
  EXPECT_EQ(EncodeEventMessage(*back), wire);
}

TEST(EventStreamTest, RoundTripsEachHeaderTypeAlone) {
  for (const auto& header : AllTypes().headers) {
    EventMessage m;
    m.headers.push_back(header);
    absl::StatusOr<EventMessage> back = DecodeEventMessage(EncodeEventMessage(m));
    ASSERT_TRUE(back.ok()) << header.first << ": " << back.status();
    EXPECT_EQ(*back, m) << header.first;
  }
}

TEST(EventStreamTest, EmptyMessageIsSixteenBytes) {
  const std::string wire = EncodeEventMessage(EventMessage{});
  EXPECT_EQ(wire.size(), kEventStreamMinMessageBytes);
  absl::StatusOr<EventMessage> back = DecodeEventMessage(wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_THAT(back->headers, IsEmpty());
  EXPECT_THAT(back->payload, IsEmpty());
}

TEST(EventStreamTest, EncodeEventHasBedrockHeadersInOrder) {
  absl::StatusOr<EventMessage> m =
      DecodeEventMessage(EncodeEvent("contentBlockDelta", R"({"delta":{"text":"hi"}})"));
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->headers.size(), 3u);
  EXPECT_EQ(m->headers[0].first, ":event-type");
  EXPECT_EQ(m->headers[1].first, ":content-type");
  EXPECT_EQ(m->headers[2].first, ":message-type");
  EXPECT_EQ(m->StringHeader(":event-type"), "contentBlockDelta");
  EXPECT_EQ(m->StringHeader(":content-type"), "application/json");
  EXPECT_EQ(m->StringHeader(":message-type"), "event");
  EXPECT_EQ(m->payload, R"({"delta":{"text":"hi"}})");
}

TEST(EventStreamTest, EncodeExceptionHeaders) {
  absl::StatusOr<EventMessage> m =
      DecodeEventMessage(EncodeException("throttlingException", R"({"message":"slow down"})"));
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->headers.size(), 3u);
  EXPECT_EQ(m->headers[0].first, ":exception-type");
  EXPECT_EQ(m->StringHeader(":exception-type"), "throttlingException");
  EXPECT_EQ(m->StringHeader(":content-type"), "application/json");
  EXPECT_EQ(m->StringHeader(":message-type"), "exception");
}

TEST(EventStreamTest, HeaderLookup) {
  EventMessage m;
  m.headers = {{"n", EventHeaderValue{int32_t{5}}},
               {"s", EventHeaderValue{std::string("first")}},
               {"s", EventHeaderValue{std::string("second")}}};
  EXPECT_EQ(m.Header("missing"), nullptr);
  ASSERT_NE(m.Header("n"), nullptr);
  EXPECT_EQ(m.Header("n")->type(), EventHeaderType::kInt32);
  EXPECT_EQ(m.StringHeader("s"), "first");  // the first of repeated names
  EXPECT_EQ(m.StringHeader("n"), "");       // not a string
  EXPECT_EQ(m.StringHeader("missing"), "");
}

TEST(EventStreamTest, UnframeableMessageEncodesToNothing) {
  EventMessage long_name;
  long_name.headers.emplace_back(std::string(256, 'n'), EventHeaderValue{true});
  EXPECT_EQ(ValidateEventMessage(long_name).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeEventMessage(long_name), "");

  EventMessage long_value;
  long_value.headers.emplace_back("v", EventHeaderValue{std::string(65536, 'v')});
  EXPECT_EQ(ValidateEventMessage(long_value).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeEventMessage(long_value), "");

  EventMessage longest;
  longest.headers.emplace_back(std::string(255, 'n'),
                               EventHeaderValue{EventByteArray{std::string(65535, 'v')}});
  EXPECT_TRUE(ValidateEventMessage(longest).ok());
  absl::StatusOr<EventMessage> back = DecodeEventMessage(EncodeEventMessage(longest));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, longest);
}

TEST(EventStreamTest, SeveralMessagesInOneFeed) {
  const std::string wire = EncodeEvent("a", "{}") + EncodeEventMessage(AllTypes()) +
                           EncodeEventMessage(EventMessage{}) + EncodeException("b", "{}");
  Decoded d = DecodeWhole(wire);
  ASSERT_TRUE(d.status.ok()) << d.status;
  ASSERT_EQ(d.messages.size(), 4u);
  EXPECT_EQ(d.messages[0].StringHeader(":event-type"), "a");
  EXPECT_EQ(d.messages[1], AllTypes());
  EXPECT_EQ(d.messages[2], EventMessage{});
  EXPECT_EQ(d.messages[3].StringHeader(":exception-type"), "b");
  EXPECT_FALSE(d.partial);
}

TEST(EventStreamTest, SplitAtEveryBoundaryEqualsWhole) {
  const std::string wire = EncodeEvent("messageStart", R"({"role":"assistant"})") +
                           EncodeEventMessage(AllTypes()) + EncodeEventMessage(EventMessage{}) +
                           EncodeEvent("messageStop", R"({"stopReason":"x"})");
  const Decoded whole = DecodeWhole(wire);
  ASSERT_TRUE(whole.status.ok()) << whole.status;
  ASSERT_EQ(whole.messages.size(), 4u);
  for (size_t i = 0; i <= wire.size(); ++i) {
    for (size_t j = i; j <= wire.size(); j += 7) {
      Decoded split = DecodeChunks({wire.substr(0, i), wire.substr(i, j - i), wire.substr(j)});
      ASSERT_TRUE(split.status.ok()) << i << "," << j << ": " << split.status;
      ASSERT_EQ(split.messages, whole.messages) << i << "," << j;
      EXPECT_FALSE(split.partial);
    }
  }
  std::vector<std::string> bytes;
  for (char c : wire) bytes.emplace_back(1, c);
  EXPECT_EQ(DecodeChunks(bytes).messages, whole.messages);
}

TEST(EventStreamTest, TruncatedInputIsPartialAndEmitsNothing) {
  const std::string wire = EncodeEventMessage(AllTypes());
  for (size_t n = 1; n < wire.size(); ++n) {
    Decoded d = DecodeWhole(wire.substr(0, n));
    ASSERT_TRUE(d.status.ok()) << n << ": " << d.status;
    EXPECT_THAT(d.messages, IsEmpty()) << n;
    EXPECT_TRUE(d.partial) << n;
  }
  EventStreamDecoder decoder;
  EXPECT_FALSE(decoder.HasPartial());
}

TEST(EventStreamTest, OversizedMessageRejectedFromPrelude) {
  const std::string wire = EncodeEvent("big", std::string(1000, 'x'));
  // Only the prelude is fed: the decoder must refuse without waiting for, or buffering,
  // the body it declares.
  EventStreamDecoder decoder(/*max_message_bytes=*/512);
  absl::Status s = decoder.Feed(wire.substr(0, 12), [](EventMessage&&) { ADD_FAILURE(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("exceeds the limit of 512"));
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  EXPECT_TRUE(DecodeWhole(wire, wire.size()).status.ok());

  // A CRC-valid prelude declaring 4 GiB - 1: rejected at once; ASan would report an
  // allocation of that size had the decoder reserved it.
  const Decoded d = DecodeWhole(Prelude(0xffffffffu, 0) + "rest");
  EXPECT_EQ(d.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(d.partial);
}

TEST(EventStreamTest, MalformedFramesAreRejected) {
  struct Case {
    std::string name;
    std::string wire;
    absl::StatusCode code;
    std::string text;
  };
  const std::string ok = EncodeEvent("e", "{}");
  std::string bad_prelude_crc = ok;
  bad_prelude_crc[9] ^= 1;
  std::string bad_message_crc = ok;
  bad_message_crc.back() ^= 1;
  std::string bad_payload = ok;
  bad_payload[bad_payload.size() - 5] ^= 1;
  const std::vector<Case> cases = {
      {"prelude crc", bad_prelude_crc, absl::StatusCode::kDataLoss, "prelude checksum mismatch"},
      {"message crc", bad_message_crc, absl::StatusCode::kDataLoss, "message checksum mismatch"},
      {"payload", bad_payload, absl::StatusCode::kDataLoss, "message checksum mismatch"},
      {"below minimum", Frame(15, 0, ""), absl::StatusCode::kInvalidArgument,
       "below the 16-byte minimum"},
      {"headers too long", Frame(20, 5, "abcd"), absl::StatusCode::kInvalidArgument,
       "headers length 5"},
      {"unknown type", Frame(16 + 3, 3, std::string("\x01n\x0a", 3)),
       absl::StatusCode::kInvalidArgument, "unknown value type 10"},
      {"name past block", Frame(16 + 3, 3, std::string("\x05na", 3)),
       absl::StatusCode::kInvalidArgument, "header name runs past"},
      {"no type byte", Frame(16 + 2, 2, std::string("\x01n", 2)),
       absl::StatusCode::kInvalidArgument, "has no value type"},
      {"int32 past block", Frame(16 + 5, 5, std::string("\x01n\x04\x00\x00", 5)),
       absl::StatusCode::kInvalidArgument, "runs past the end"},
      {"string past block", Frame(16 + 6, 5, std::string("\x01n\x07\x00\x02x", 6)),
       absl::StatusCode::kInvalidArgument, "runs past the end"},
  };
  for (const Case& c : cases) {
    for (bool bytewise : {false, true}) {
      std::vector<std::string> chunks;
      if (bytewise) {
        for (char ch : c.wire) chunks.emplace_back(1, ch);
      } else {
        chunks.push_back(c.wire);
      }
      const Decoded d = DecodeChunks(chunks);
      EXPECT_EQ(d.status.code(), c.code) << c.name << ": " << d.status;
      EXPECT_THAT(Message(d.status), HasSubstr(c.text)) << c.name;
      EXPECT_THAT(d.messages, IsEmpty()) << c.name;
    }
    EXPECT_FALSE(DecodeEventMessage(c.wire).ok()) << c.name;
  }
}

TEST(EventStreamTest, FailureIsSticky) {
  std::string bad = EncodeEvent("e", "{}");
  bad.back() ^= 1;
  EventStreamDecoder decoder;
  int seen = 0;
  auto count = [&](EventMessage&&) { ++seen; };
  const std::string good = EncodeEvent("first", "{}");
  const absl::Status first = decoder.Feed(good + bad + good, count);
  EXPECT_EQ(seen, 1);  // the message before the error is delivered
  EXPECT_EQ(first.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decoder.Feed(good, count), first);
  EXPECT_EQ(seen, 1);
  EXPECT_FALSE(decoder.HasPartial());
}

TEST(EventStreamTest, DecodeEventMessageWantsExactlyOneFrame) {
  const std::string wire = EncodeEvent("e", "{}");
  EXPECT_EQ(DecodeEventMessage(wire + "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeEventMessage(wire.substr(0, wire.size() - 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeEventMessage("short").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EventStreamTest, DecoderBufferStaysWithinLimit) {
  const std::string wire = EncodeEvent("e", std::string(300, 'p'));
  EventStreamDecoder decoder(wire.size());
  size_t seen = 0;
  for (char c : wire) {
    ASSERT_TRUE(decoder.Feed(std::string_view(&c, 1), [&](EventMessage&&) { ++seen; }).ok());
    EXPECT_LE(decoder.buffered_bytes(), wire.size());
  }
  EXPECT_EQ(seen, 1u);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

}  // namespace
}  // namespace basalt::net
