#include "bus/rules/event_pattern.h"

#include <utility>

#include "bus/rules/pattern_tree.h"
#include "core/json.h"
#include "core/strings.h"

namespace basalt::bus {
namespace {

using nlohmann::json;
using rules_internal::FieldPattern;
using rules_internal::LeafMatcher;
using rules_internal::ObjectPattern;

absl::Status Invalid(std::string_view path, std::string_view detail) {
  return absl::InvalidArgumentError(StrCat(path.empty() ? "pattern" : path, ": ", detail));
}

std::string Join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : StrCat(path, ".", key);
}

absl::Status ParseObject(const json& obj, const std::string& path, int depth, ObjectPattern* out);

// "$or": [ {...}, {...}, ... ] at `path`: each alternative is a sub-pattern
// over the same event object.
absl::Status ParseOr(const json& value, const std::string& path, int depth, ObjectPattern* out) {
  const std::string or_path = Join(path, "$or");
  if (!value.is_array() || value.size() < 2) {
    return Invalid(or_path, "must be an array of at least 2 pattern objects");
  }
  std::vector<ObjectPattern> group;
  group.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string alt_path = StrCat(or_path, "[", i, "]");
    const json& alt = value[i];
    if (!alt.is_object() || alt.empty()) return Invalid(alt_path, "must be a non-empty object");
    ObjectPattern sub;
    if (absl::Status s = ParseObject(alt, alt_path, depth + 1, &sub); !s.ok()) return s;
    group.push_back(std::move(sub));
  }
  out->any_of.push_back(std::move(group));
  return absl::OkStatus();
}

absl::Status ParseObject(const json& obj, const std::string& path, int depth, ObjectPattern* out) {
  // Checked before looking inside so recursion stays bounded whatever the input.
  if (depth > EventPattern::kMaxDepth) {
    return Invalid(path, StrCat("pattern nests deeper than ", EventPattern::kMaxDepth, " levels"));
  }
  for (const auto& [key, value] : obj.items()) {
    if (key == "$or") {
      if (absl::Status s = ParseOr(value, path, depth, out); !s.ok()) return s;
      continue;
    }
    const std::string field_path = Join(path, key);
    FieldPattern field;
    field.name = key;
    if (value.is_object()) {
      if (value.empty()) return Invalid(field_path, "pattern objects must not be empty");
      field.nested = std::make_unique<ObjectPattern>();
      if (absl::Status s = ParseObject(value, field_path, depth + 1, field.nested.get()); !s.ok()) {
        return s;
      }
    } else if (value.is_array()) {
      if (value.empty()) return Invalid(field_path, "pattern value arrays must not be empty");
      for (const json& element : value) {
        absl::StatusOr<LeafMatcher> m = rules_internal::ParseLeafElement(element, field_path);
        if (!m.ok()) return m.status();
        field.leaf.push_back(*std::move(m));
      }
    } else {
      return Invalid(field_path, "pattern values must be arrays");
    }
    out->fields.push_back(std::move(field));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EventPattern> EventPattern::Parse(std::string_view json_text) {
  if (json_text.size() > kMaxTextBytes) {
    return absl::InvalidArgumentError(StrCat("pattern: text exceeds ", kMaxTextBytes, " bytes"));
  }
  absl::StatusOr<json> parsed = ParseJson(json_text, "pattern");
  if (!parsed.ok()) return parsed.status();
  return FromJson(*parsed);
}

absl::StatusOr<EventPattern> EventPattern::FromJson(const json& pattern) {
  if (!pattern.is_object()) return Invalid("", "must be a JSON object");
  auto root = std::make_shared<ObjectPattern>();
  if (absl::Status s = ParseObject(pattern, "", 1, root.get()); !s.ok()) return s;
  // Only dumped once validated: the depth check bounds dump()'s recursion.
  // Invalid UTF-8 (possible in a caller-built json) is replaced, not thrown.
  std::string text = pattern.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxTextBytes) {
    return absl::InvalidArgumentError(StrCat("pattern: text exceeds ", kMaxTextBytes, " bytes"));
  }
  return EventPattern(std::move(root), std::move(text));
}

bool EventPattern::Matches(const json& event) const {
  if (!event.is_object() || root_ == nullptr) return false;
  return rules_internal::MatchObject(*root_, &event);
}

bool EventPattern::MatchesText(std::string_view event_json) const {
  absl::StatusOr<json> event = ParseJson(event_json, "event");
  return event.ok() && Matches(*event);
}

}  // namespace basalt::bus
