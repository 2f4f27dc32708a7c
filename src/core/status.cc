#include "core/status.h"

#include <charconv>

#include "absl/strings/cord.h"
#include "core/json_escape.h"
#include "core/strings.h"

namespace basalt {
namespace {

constexpr std::string_view kHttpPayloadUrl = "basalt.dev/http_status";
constexpr std::string_view kCodePayloadUrl = "basalt.dev/error_code";
constexpr std::string_view kAwsTypePayloadUrl = "basalt.dev/aws_error_type";
constexpr std::string_view kHeaderPayloadPrefix = "basalt.dev/header/";

}  // namespace

ErrorShape ShapeFor(absl::StatusCode code) {
  using C = absl::StatusCode;
  switch (code) {
    case C::kOk: return {200, "", ""};
    case C::kInvalidArgument:
    case C::kFailedPrecondition:
    case C::kOutOfRange: return {400, "invalid_request_error", "ValidationException"};
    case C::kUnauthenticated: return {401, "authentication_error", "UnrecognizedClientException"};
    case C::kPermissionDenied: return {403, "permission_error", "AccessDeniedException"};
    case C::kNotFound: return {404, "not_found_error", "ResourceNotFoundException"};
    case C::kAlreadyExists:
    case C::kAborted: return {409, "conflict_error", "ConflictException"};
    case C::kResourceExhausted: return {429, "rate_limit_error", "ThrottlingException"};
    case C::kCancelled: return {499, "request_cancelled", "RequestCancelledException"};
    case C::kUnimplemented: return {501, "invalid_request_error", "UnknownOperationException"};
    case C::kUnavailable: return {503, "service_unavailable_error", "ServiceUnavailableException"};
    case C::kDeadlineExceeded: return {504, "timeout_error", "ModelTimeoutException"};
    case C::kUnknown:
    case C::kInternal:
    case C::kDataLoss:
    default: return {500, "server_error", "InternalServerException"};
  }
}

std::string_view CodeName(absl::StatusCode code) {
  using C = absl::StatusCode;
  switch (code) {
    case C::kOk: return "ok";
    case C::kCancelled: return "cancelled";
    case C::kUnknown: return "unknown";
    case C::kInvalidArgument: return "invalid_argument";
    case C::kDeadlineExceeded: return "deadline_exceeded";
    case C::kNotFound: return "not_found";
    case C::kAlreadyExists: return "already_exists";
    case C::kPermissionDenied: return "permission_denied";
    case C::kResourceExhausted: return "resource_exhausted";
    case C::kFailedPrecondition: return "failed_precondition";
    case C::kAborted: return "aborted";
    case C::kOutOfRange: return "out_of_range";
    case C::kUnimplemented: return "unimplemented";
    case C::kInternal: return "internal";
    case C::kUnavailable: return "unavailable";
    case C::kDataLoss: return "data_loss";
    case C::kUnauthenticated: return "unauthenticated";
    default: return "unknown";
  }
}

absl::Status WithHttpStatus(absl::Status status, int http_status) {
  status.SetPayload(ToAbsl(kHttpPayloadUrl), absl::Cord(std::to_string(http_status)));
  return status;
}

int HttpStatusOf(const absl::Status& status) {
  if (auto payload = status.GetPayload(ToAbsl(kHttpPayloadUrl))) {
    std::string text(*payload);
    int value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && value >= 100 && value <= 599) return value;
  }
  return ShapeFor(status.code()).http_status;
}

absl::Status MethodNotAllowed(std::string_view message) {
  return WithHttpStatus(absl::InvalidArgumentError(ToAbsl(message)), 405);
}
absl::Status PayloadTooLarge(std::string_view message) {
  return WithHttpStatus(absl::InvalidArgumentError(ToAbsl(message)), 413);
}
absl::Status HeadersTooLarge(std::string_view message) {
  return WithHttpStatus(absl::InvalidArgumentError(ToAbsl(message)), 431);
}

absl::Status WithErrorCode(absl::Status status, std::string_view code) {
  status.SetPayload(ToAbsl(kCodePayloadUrl), absl::Cord(ToAbsl(code)));
  return status;
}

std::string ErrorCodeOf(const absl::Status& status) {
  if (auto payload = status.GetPayload(ToAbsl(kCodePayloadUrl))) return std::string(*payload);
  return "";
}

absl::Status WithResponseHeader(absl::Status status, std::string_view name,
                                std::string_view value) {
  status.SetPayload(ToAbsl(StrCat(kHeaderPayloadPrefix, name)), absl::Cord(ToAbsl(value)));
  return status;
}

std::vector<std::pair<std::string, std::string>> ResponseHeadersOf(const absl::Status& status) {
  std::vector<std::pair<std::string, std::string>> out;
  status.ForEachPayload([&out](absl::string_view url, const absl::Cord& value) {
    const std::string_view u = ToStd(url);
    if (u.substr(0, kHeaderPayloadPrefix.size()) == kHeaderPayloadPrefix) {
      out.emplace_back(std::string(u.substr(kHeaderPayloadPrefix.size())), std::string(value));
    }
  });
  return out;
}

absl::Status WithAwsErrorType(absl::Status status, std::string_view type) {
  status.SetPayload(ToAbsl(kAwsTypePayloadUrl), absl::Cord(ToAbsl(type)));
  return status;
}

std::string AwsErrorTypeOf(const absl::Status& status) {
  if (auto payload = status.GetPayload(ToAbsl(kAwsTypePayloadUrl))) return std::string(*payload);
  return std::string(ShapeFor(status.code()).aws_type);
}

std::string ParamOf(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) return "";
  const std::string_view message = ToStd(status.message());
  const size_t colon = message.find(": ");
  if (colon == std::string_view::npos || colon == 0 || colon > 128) return "";
  const std::string_view field = message.substr(0, colon);
  for (char c : field) {
    if (c == ' ' || c == '"' || c == '\'' || static_cast<unsigned char>(c) < 0x20) return "";
  }
  return std::string(field);
}

std::string ErrorEnvelopeJson(const absl::Status& status, std::string_view request_id) {
  std::string out;
  out.reserve(128 + status.message().size());
  out += R"({"error":{"message":")";
  AppendJsonEscaped(out, ToStd(status.message()));
  out += R"(","type":")";
  out += ShapeFor(status.code()).openai_type;
  out += R"(","code":")";
  const std::string code = ErrorCodeOf(status);
  out += code.empty() ? std::string(CodeName(status.code())) : code;
  if (std::string param = ParamOf(status); !param.empty()) {
    out += R"(","param":")";
    AppendJsonEscaped(out, param);
  }
  out += R"(","request_id":")";
  AppendJsonEscaped(out, request_id);
  out += "\"}}";
  return out;
}

std::string AwsErrorJson(const absl::Status& status) {
  std::string out = R"({"message":")";
  AppendJsonEscaped(out, ToStd(status.message()));
  out += "\"}";
  return out;
}

}  // namespace basalt
