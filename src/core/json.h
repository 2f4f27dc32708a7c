// JSON helpers around nlohmann::json that never throw: parse failures become
// kInvalidArgument naming the field (or "body") and the byte where it broke.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt {

// Parses `text`; `what` names it in errors ("body", "detail", a field name).
absl::StatusOr<nlohmann::json> ParseJson(std::string_view text, std::string_view what = "body");
// OK when `text` is one valid JSON value.
absl::Status ValidateJson(std::string_view text, std::string_view what = "body");

}  // namespace basalt
