// Fuzzer for the event-pattern engine. Input layout: the first line is the
// pattern, the rest is the event. Every parsed pattern is also re-parsed from
// its canonical Text(), and the two (plus a copy) must agree on the event:
// Text() is what rules storage keeps, so a round trip must not change meaning.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bus/rules/event_pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view pattern_text = input.substr(0, newline);
  const std::string_view event_text =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  absl::StatusOr<basalt::bus::EventPattern> pattern =
      basalt::bus::EventPattern::Parse(pattern_text);
  if (!pattern.ok()) {
    // Errors must name something: never an empty message.
    if (pattern.status().message().empty()) std::abort();
    return 0;
  }
  absl::StatusOr<basalt::bus::EventPattern> reparsed =
      basalt::bus::EventPattern::Parse(pattern->Text());
  if (!reparsed.ok() || reparsed->Text() != pattern->Text()) std::abort();
  const basalt::bus::EventPattern copy = *pattern;

  const bool matched = pattern->MatchesText(event_text);
  if (reparsed->MatchesText(event_text) != matched) std::abort();
  if (copy.MatchesText(event_text) != matched) std::abort();
  // The pattern text itself is a JSON object, so match it as an event too.
  (void)pattern->MatchesText(pattern_text);
  return 0;
}
