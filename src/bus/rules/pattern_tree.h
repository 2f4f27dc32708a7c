// The compiled form of an EventPattern, shared by the parser (event_pattern.cc,
// operator_parser.cc) and the matcher (pattern_match.cc). Not a public API.
#pragma once

#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "bus/rules/cidr.h"
#include "bus/rules/wildcard.h"

namespace basalt::bus::rules_internal {

// A numeric interval; "=" x is [x, x].
struct NumericRange {
  double low = -std::numeric_limits<double>::infinity();
  bool low_inclusive = false;
  double high = std::numeric_limits<double>::infinity();
  bool high_inclusive = false;

  bool Contains(double v) const {
    if (low_inclusive ? v < low : v <= low) return false;
    return high_inclusive ? v <= high : v < high;
  }
};

enum class TestKind { kExact, kPrefix, kSuffix, kEqualsIgnoreCase, kWildcard, kNumeric, kCidr };

// One test of a single scalar event value.
struct ValueTest {
  TestKind kind = TestKind::kExact;
  bool ignore_case = false;  // kPrefix, kSuffix: compare ASCII case-insensitively
  std::string text;          // kPrefix, kSuffix, kEqualsIgnoreCase (lower-cased if folded)
  nlohmann::json exact;      // kExact: a string, number, boolean or null
  WildcardPattern wildcard;  // kWildcard
  NumericRange range;        // kNumeric
  CidrBlock cidr;            // kCidr
};

enum class LeafKind {
  kTest,         // some value passes tests[0]
  kAnythingBut,  // some value passes none of tests (the deny set)
  kExists,       // the field has at least one scalar value
  kAbsent,       // the field has no scalar value
};

// One element of a pattern's leaf array.
struct LeafMatcher {
  LeafKind kind = LeafKind::kTest;
  std::vector<ValueTest> tests;
};

struct FieldPattern;

// An object level of the pattern: every field must match, and for each "$or"
// group one alternative must match against the same event object.
struct ObjectPattern {
  std::vector<FieldPattern> fields;
  std::vector<std::vector<ObjectPattern>> any_of;
};

struct FieldPattern {
  std::string name;
  std::vector<LeafMatcher> leaf;          // set when the pattern value is an array
  std::unique_ptr<ObjectPattern> nested;  // set when it is an object
};

// Compiles one element of a leaf array found at `path` (for error messages).
absl::StatusOr<LeafMatcher> ParseLeafElement(const nlohmann::json& element, std::string_view path);

// Matches `pattern` against an event object; nullptr stands for "no object
// here" (absent, or not an object), against which only absence tests pass.
bool MatchObject(const ObjectPattern& pattern, const nlohmann::json* event);

// Quotes a JSON value for an error message, shortened so errors stay small.
std::string Describe(const nlohmann::json& value);

}  // namespace basalt::bus::rules_internal
