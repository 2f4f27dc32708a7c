// Object and request ids: time-ordered and unguessable. A ULID-style 26-character
// Crockford base32 string: 48 bits of milliseconds then 80 bits from the OS
// CSPRNG (OpenSSL RAND_bytes), so ids sort by creation time and cannot be
// predicted from one another. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace basalt {

// A new id, optionally with a prefix such as "req_".
[[nodiscard]] std::string NewId(std::string_view prefix = {}, const Clock& clock = RealClock::Instance());

// The millisecond timestamp encoded in an id made by NewId (after the prefix);
// -1 when the text is not such an id.
[[nodiscard]] int64_t IdTimeMillis(std::string_view id_without_prefix);

// Whether a client-supplied request id is acceptable to echo back: 1..128
// characters of [A-Za-z0-9._:-].
[[nodiscard]] bool IsValidRequestId(std::string_view id);

}  // namespace basalt
