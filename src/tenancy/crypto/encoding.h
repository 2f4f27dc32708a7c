// Strict text encodings for key material and envelopes: lowercase/uppercase
// hex and standard base64 (RFC 4648 section 4, with '=' padding). Decoders
// reject anything not in canonical form (bad characters, wrong length, missing
// or extra padding, non-zero trailing bits), so one byte string has exactly one
// accepted text form. Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace basalt::crypto {

// Lowercase hex of `bytes`.
std::string HexEncode(std::string_view bytes);
// The bytes of `hex` (either case), or nullopt when it is not an even number
// of hex digits.
std::optional<std::string> HexDecode(std::string_view hex);

// Standard base64 with padding.
std::string Base64Encode(std::string_view bytes);
// The bytes of canonical padded base64 text, or nullopt. No whitespace is
// accepted; callers trim first when the text comes from a person.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace basalt::crypto
