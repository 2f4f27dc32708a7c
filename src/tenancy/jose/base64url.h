// Base64url without padding (RFC 7515 section 2), strict: the decoder accepts
// only the 64 URL-safe characters, no '=' padding, no whitespace, no length
// that leaves 1 character over, and no set bits in the unused low bits of the
// last character (so each byte string has exactly one encoding).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace basalt::jose {

std::string Base64UrlEncode(std::string_view bytes);

// InvalidArgument("invalid base64url in <what>") on any deviation above.
absl::StatusOr<std::string> Base64UrlDecode(std::string_view text, std::string_view what);

}  // namespace basalt::jose
