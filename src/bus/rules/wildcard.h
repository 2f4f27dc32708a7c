// WildcardPattern: event-ruler's "wildcard" operand, a string where `*` matches
// any run of characters (including none), `\*` is a literal star and `\\` a
// literal backslash. Consecutive unescaped stars and any other escape are
// rejected, as event-ruler does. Matching is the linear greedy glob algorithm:
// no backtracking, so a hostile pattern cannot make matching exponential.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace basalt::bus {

class WildcardPattern {
 public:
  WildcardPattern() = default;

  // Errors are kInvalidArgument with a bare message (the caller adds the path).
  static absl::StatusOr<WildcardPattern> Compile(std::string_view pattern);

  bool Matches(std::string_view text) const;

 private:
  // Literal pieces between stars, unescaped. With k stars there are k+1 pieces,
  // the first and last possibly empty; with no star there is one piece and the
  // match is exact.
  std::vector<std::string> pieces_;
};

}  // namespace basalt::bus
