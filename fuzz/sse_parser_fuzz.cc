// Differential fuzzer for SseParser: the same bytes fed whole and split at points
// chosen by the input must give the same events and the same final status, and the
// parser must never hold more than its bound. Input layout: byte 0 picks the event
// size bound, bytes 1..4 seed the split points, the rest is the stream.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "net/sse_parser.h"

namespace {

using basalt::net::SseEvent;
using basalt::net::SseParser;

struct Outcome {
  std::vector<SseEvent> events;
  bool ok = true;
};

Outcome FeedWhole(std::string_view stream, size_t max) {
  SseParser parser(max);
  Outcome out;
  out.ok = parser.Feed(stream, [&](SseEvent&& e) { out.events.push_back(std::move(e)); }).ok();
  return out;
}

Outcome FeedSplit(std::string_view stream, size_t max, uint32_t seed) {
  SseParser parser(max);
  Outcome out;
  size_t pos = 0;
  while (pos < stream.size() && out.ok) {
    // A small linear congruential generator keeps the splits reproducible.
    seed = seed * 1664525u + 1013904223u;
    const size_t len = std::min<size_t>(stream.size() - pos, (seed >> 24) % 9);
    out.ok = parser
                 .Feed(stream.substr(pos, len),
                       [&](SseEvent&& e) { out.events.push_back(std::move(e)); })
                 .ok();
    pos += len;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const size_t max = data[0] == 0 ? size_t{1} << 20 : data[0];
  const uint32_t seed = uint32_t{data[1]} | uint32_t{data[2]} << 8 | uint32_t{data[3]} << 16 |
                        uint32_t{data[4]} << 24;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 5, size - 5);

  const Outcome whole = FeedWhole(stream, max);
  const Outcome split = FeedSplit(stream, max, seed);
  if (whole.ok != split.ok || whole.events != split.events) std::abort();
  for (const SseEvent& e : whole.events) {
    if (e.data.size() + e.event.size() + e.id.size() > max) std::abort();
  }
  return 0;
}
