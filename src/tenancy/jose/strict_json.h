// JSON parsing for security-relevant documents (JOSE headers, JWT claims, JWKS).
// Stricter than core/json.h: a duplicate member name anywhere is an error
// (RFC 7515 section 5.2 and RFC 8725 section 3.13 leave the choice to us, and
// accepting "the last one wins" lets two parsers disagree on one token), and
// nesting deeper than kMaxJsonDepth is refused before nlohmann sees it.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace basalt::jose {

inline constexpr int kMaxJsonDepth = 32;

// InvalidArgument naming `what` ("header", "claims", "JWKS") on malformed
// JSON, a duplicate member, or nesting deeper than kMaxJsonDepth.
absl::StatusOr<nlohmann::json> ParseStrictJson(std::string_view text, std::string_view what);

// As above, and the top-level value must be an object.
absl::StatusOr<nlohmann::json> ParseStrictJsonObject(std::string_view text, std::string_view what);

}  // namespace basalt::jose
