// Retry-After hints. A provider that receives 429 (or 503) with a `Retry-After`
// header attaches the delay to the Status it returns; the router waits at least
// that long before retrying the same upstream, and the HTTP layer copies a hint
// on a status it answers into its own `Retry-After` header.
//
//   absl::Status s = absl::ResourceExhaustedError("openai: rate limited");
//   if (auto after = ParseRetryAfter(response.Header("retry-after"), clock.Now())) {
//     s = WithRetryAfter(std::move(s), *after);
//   }
//
// The hint travels as an absl::Status payload, so it survives copies and
// StatusOr<T> without any change to the port's signatures. Pure functions;
// thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace basalt::models {

// `status` with a retry-after hint of `delay` (negative delays count as zero).
// An OK status is returned unchanged: only failures carry hints.
[[nodiscard]] absl::Status WithRetryAfter(absl::Status status, std::chrono::milliseconds delay);

// The hint attached by WithRetryAfter, if any.
[[nodiscard]] std::optional<std::chrono::milliseconds> RetryAfterOf(const absl::Status& status);

// Parses a `Retry-After` header value: delta-seconds ("120", also "1.5" as some
// servers send) or an IMF-fixdate HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"),
// relative to `now`; a date in the past is zero. nullopt when empty or malformed.
// ParseRetryAfterMs reads OpenAI's `retry-after-ms` header (milliseconds).
[[nodiscard]] std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now);
[[nodiscard]] std::optional<std::chrono::milliseconds> ParseRetryAfterMs(std::string_view value);

// The value for an outgoing `Retry-After` header: whole seconds, rounded up, at
// least 1 ("1" for 200 ms, "3" for 2.5 s).
[[nodiscard]] std::string RetryAfterHeaderValue(std::chrono::milliseconds delay);

}  // namespace basalt::models
