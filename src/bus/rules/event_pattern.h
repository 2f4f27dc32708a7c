// EventPattern: EventBridge event-pattern syntax, as the aws/event-ruler README
// documents it, compiled once into a tree and evaluated against JSON events.
//
// A pattern is a JSON object shaped like the events it matches. Every leaf is an
// array of alternatives; a field matches when any alternative matches any of the
// field's values (an array in the event contributes each of its elements). All
// fields named in one object must match (AND); "$or" holds two or more
// sub-patterns of which one must match. Supported alternatives:
//   exact   "x", 3.0e2, true, null   (numbers compare numerically)
//   {"prefix": "s"} {"prefix": {"equals-ignore-case": "s"}}   (strings only)
//   {"suffix": "s"} {"suffix": {"equals-ignore-case": "s"}}
//   {"equals-ignore-case": "s"}  {"wildcard": "a*b"}  ("\*" is a literal star)
//   {"anything-but": "s" | 1 | ["s", ...] | [1, ...] | {"prefix": "s"} |
//                    {"suffix": "s"} | {"equals-ignore-case": "s" | [...]} |
//                    {"wildcard": "s" | [...]}}
//   {"numeric": [">", 0, "<=", 5]} {"numeric": ["=", 300]}
//   {"exists": true | false}  {"cidr": "10.0.0.0/24" | "2001:db8::/32"}
// Case folding is ASCII only.
//
// Thread-safety: an EventPattern is immutable after Parse; copies share the
// compiled tree, and Matches may be called from any number of threads.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace basalt::bus {

namespace rules_internal {
struct ObjectPattern;
}  // namespace rules_internal

class EventPattern {
 public:
  // Abuse limits: a pattern's text (and canonical form) and its object nesting.
  static constexpr size_t kMaxTextBytes = 64 * 1024;
  static constexpr int kMaxDepth = 32;

  // Parses a pattern (JSON object text). Errors are kInvalidArgument naming the
  // field path and the operator, e.g.
  //   detail.total: numeric: expected comparison operator, got "x"
  //   detail.ip: cidr: invalid prefix "10.0.0.0/33"
  //   source: pattern values must be arrays
  static absl::StatusOr<EventPattern> Parse(std::string_view json_text);
  static absl::StatusOr<EventPattern> FromJson(const nlohmann::json& pattern);

  // True when `event` (a JSON object) matches. Never throws; the work is bounded
  // by the sizes of the pattern and the event.
  bool Matches(const nlohmann::json& event) const;
  // Parses then matches; event text that is not valid JSON never matches.
  bool MatchesText(std::string_view event_json) const;

  // The pattern as given, in canonical JSON (sorted keys, no whitespace).
  const std::string& Text() const { return text_; }

 private:
  EventPattern(std::shared_ptr<const rules_internal::ObjectPattern> root, std::string text)
      : root_(std::move(root)), text_(std::move(text)) {}

  // Shared, never mutated after construction, so copying is cheap and safe.
  std::shared_ptr<const rules_internal::ObjectPattern> root_;
  std::string text_;
};

}  // namespace basalt::bus
