// Errors: one table maps every absl::StatusCode to the HTTP status, the OpenAI
// error `type` and the AWS error shape (`x-amzn-ErrorType`), so every API answers
// a failure the same way. Handlers return Status; they never throw.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt {

struct ErrorShape {
  int http_status;
  std::string_view openai_type;  // OpenAI error envelope `type`
  std::string_view aws_type;     // AWS `x-amzn-ErrorType` / `__type`
};

// The one table. Total: every code has a row.
[[nodiscard]] ErrorShape ShapeFor(absl::StatusCode code);

// A few HTTP answers have no absl code of their own (405, 413, 431). They are
// carried as a payload on the Status so the table row can be overridden.
[[nodiscard]] absl::Status WithHttpStatus(absl::Status status, int http_status);
[[nodiscard]] int HttpStatusOf(const absl::Status& status);

// Constructors for the common HTTP-shaped failures.
[[nodiscard]] absl::Status MethodNotAllowed(std::string_view message);
[[nodiscard]] absl::Status PayloadTooLarge(std::string_view message);
[[nodiscard]] absl::Status HeadersTooLarge(std::string_view message);

// A machine-readable error code for the envelope's `code` (default: the absl
// code's snake name), e.g. "idempotency_conflict".
[[nodiscard]] absl::Status WithErrorCode(absl::Status status, std::string_view code);
[[nodiscard]] std::string ErrorCodeOf(const absl::Status& status);
// Extra response headers an error answer carries (Retry-After, x-ratelimit-*),
// one payload per header so several can be attached.
[[nodiscard]] absl::Status WithResponseHeader(absl::Status status, std::string_view name,
                                              std::string_view value);
[[nodiscard]] std::vector<std::pair<std::string, std::string>> ResponseHeadersOf(
    const absl::Status& status);
// Overrides the AWS `x-amzn-ErrorType` of the table row (e.g.
// ServiceQuotaExceededException for a budget refusal).
[[nodiscard]] absl::Status WithAwsErrorType(absl::Status status, std::string_view type);
[[nodiscard]] std::string AwsErrorTypeOf(const absl::Status& status);
// The field an invalid-argument message starts with ("messages[2].role: ..."
// -> "messages[2].role"); empty when it names none.
[[nodiscard]] std::string ParamOf(const absl::Status& status);

// {"error":{"message":...,"type":...,"code":...,"param"?:...,"request_id":...}} —
// the native and OpenAI-compatible envelope; `param` names the field at fault.
[[nodiscard]] std::string ErrorEnvelopeJson(const absl::Status& status,
                                            std::string_view request_id);
// {"message":...} — the body AWS SDKs expect beside `x-amzn-ErrorType`.
[[nodiscard]] std::string AwsErrorJson(const absl::Status& status);

// Lower-case snake name of a code, e.g. "invalid_argument".
[[nodiscard]] std::string_view CodeName(absl::StatusCode code);

}  // namespace basalt
