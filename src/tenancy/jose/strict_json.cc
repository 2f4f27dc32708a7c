#include "tenancy/jose/strict_json.h"

#include <string>
#include <vector>

#include "core/strings.h"

namespace basalt::jose {
namespace {

// Brackets outside strings, counted without parsing, so a deeply nested input
// costs one linear scan and nothing more.
bool NestingWithin(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseStrictJson(std::string_view text, std::string_view what) {
  if (!NestingWithin(text, kMaxJsonDepth)) {
    return absl::InvalidArgumentError(StrCat(what, " is nested too deeply"));
  }
  // nlohmann keeps the last of two equal member names, so an object ends up
  // with fewer members than the keys read for it exactly when a name repeats.
  // Counting keys per open object finds that without copying any name.
  std::vector<size_t> keys_read;
  bool duplicate = false;
  auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      keys_read.push_back(0);
    } else if (event == Event::key) {
      if (!keys_read.empty()) ++keys_read.back();
    } else if (event == Event::object_end && !keys_read.empty()) {
      if (!parsed.is_object() || parsed.size() != keys_read.back()) duplicate = true;
      keys_read.pop_back();
    }
    return true;
  };
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  } catch (const std::exception&) {
    value = nlohmann::json(nlohmann::json::value_t::discarded);
  }
  if (value.is_discarded()) return absl::InvalidArgumentError(StrCat(what, " is not valid JSON"));
  if (duplicate) return absl::InvalidArgumentError(StrCat(what, " has a duplicate member name"));
  return value;
}

absl::StatusOr<nlohmann::json> ParseStrictJsonObject(std::string_view text, std::string_view what) {
  absl::StatusOr<nlohmann::json> value = ParseStrictJson(text, what);
  if (!value.ok()) return value.status();
  if (!value->is_object()) return absl::InvalidArgumentError(StrCat(what, " is not a JSON object"));
  return value;
}

}  // namespace basalt::jose
