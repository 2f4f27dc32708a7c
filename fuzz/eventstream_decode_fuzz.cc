// Differential fuzzer for EventStreamDecoder: the same bytes fed whole and split at
// points chosen by the input must give the same messages, the same final status and
// the same partial state; the decoder must never buffer more than its bound; and the
// decoded messages must re-encode to exactly the bytes they were decoded from (the
// framing is canonical). Input layout: byte 0 picks the message size bound, bytes 1..4
// seed the split points, the rest is the stream. When the seed is odd the stream's
// CRCs are recomputed first, so that mutations reach the header parser rather than
// stopping at a checksum.
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "net/eventstream.h"

namespace {

using basalt::net::EventMessage;
using basalt::net::EventStreamDecoder;

struct Outcome {
  std::vector<EventMessage> messages;
  absl::Status status;
  bool partial = false;
};

// Aborts if the decoder holds more than `max` bytes of a message (or, before a prelude
// is whole, more than the 11 bytes of an incomplete one).
void CheckBound(const EventStreamDecoder& decoder, size_t max) {
  if (decoder.buffered_bytes() > std::max<size_t>(max, 11)) std::abort();
}

Outcome FeedWhole(std::string_view stream, size_t max) {
  EventStreamDecoder decoder(max);
  Outcome out;
  out.status =
      decoder.Feed(stream, [&](EventMessage&& m) { out.messages.push_back(std::move(m)); });
  CheckBound(decoder, max);
  out.partial = decoder.HasPartial();
  return out;
}

Outcome FeedSplit(std::string_view stream, size_t max, uint32_t seed) {
  EventStreamDecoder decoder(max);
  Outcome out;
  size_t pos = 0;
  while (pos < stream.size() && out.status.ok()) {
    // A small linear congruential generator keeps the splits reproducible; lengths of
    // 0..31 cover empty feeds and splits inside the prelude, headers and CRC.
    seed = seed * 1664525u + 1013904223u;
    const size_t len = std::min<size_t>(stream.size() - pos, (seed >> 24) % 32);
    out.status = decoder.Feed(stream.substr(pos, len),
                              [&](EventMessage&& m) { out.messages.push_back(std::move(m)); });
    CheckBound(decoder, max);
    pos += len;
  }
  out.partial = decoder.HasPartial();
  return out;
}

void PutCrc(std::string& bytes, size_t covered) {
  const uint32_t crc =
      static_cast<uint32_t>(crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), covered));
  for (size_t i = 0; i < 4; ++i) bytes[covered + i] = static_cast<char>(crc >> (24 - 8 * i));
}

// Walks the frames that `stream` declares and makes their prelude and message CRCs
// correct, whatever the lengths say.
void FixCrcs(std::string& stream) {
  size_t pos = 0;
  while (stream.size() - pos >= 12) {
    std::string frame = stream.substr(pos);
    PutCrc(frame, 8);
    size_t total = 0;
    for (size_t i = 0; i < 4; ++i) total = (total << 8) | static_cast<uint8_t>(frame[i]);
    if (total >= 16 && total <= frame.size()) PutCrc(frame, total - 4);
    stream.replace(pos, frame.size(), frame);
    if (total < 16 || total > frame.size()) return;
    pos += total;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  // 0 selects the production default; otherwise a small bound so size checks are hit.
  const size_t max = data[0] == 0 ? size_t{16} << 20 : size_t{data[0]} * 4;
  const uint32_t seed = uint32_t{data[1]} | uint32_t{data[2]} << 8 | uint32_t{data[3]} << 16 |
                        uint32_t{data[4]} << 24;
  std::string bytes(reinterpret_cast<const char*>(data) + 5, size - 5);
  if (seed & 1) FixCrcs(bytes);
  const std::string_view stream(bytes);

  const Outcome whole = FeedWhole(stream, max);
  const Outcome split = FeedSplit(stream, max, seed);
  if (whole.status != split.status || whole.messages != split.messages ||
      whole.partial != split.partial) {
    std::abort();
  }

  std::string reencoded;
  for (const EventMessage& m : whole.messages) {
    const std::string frame = basalt::net::EncodeEventMessage(m);
    if (frame.empty() || frame.size() > max) std::abort();
    reencoded += frame;
  }
  if (stream.substr(0, reencoded.size()) != reencoded) std::abort();
  return 0;
}
