#include "core/json.h"

#include "core/strings.h"

namespace basalt {

absl::StatusOr<nlohmann::json> ParseJson(std::string_view text, std::string_view what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 5: ...";
    // keep the part after the bracketed id.
    std::string_view message = e.what();
    if (auto pos = message.find("] "); pos != std::string_view::npos) message.remove_prefix(pos + 2);
    return absl::InvalidArgumentError(StrCat(what, ": invalid JSON (byte ", e.byte, "): ", message));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(StrCat(what, ": invalid JSON: ", e.what()));
  }
}

absl::Status ValidateJson(std::string_view text, std::string_view what) {
  if (nlohmann::json::accept(text)) return absl::OkStatus();
  return ParseJson(text, what).status();
}

}  // namespace basalt
