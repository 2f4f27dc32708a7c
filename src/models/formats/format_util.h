// Helpers shared by the wire formats (openai_format, anthropic_format,
// converse_format): validating readers that name the offending field in their
// errors, data-URL and tool-argument conversions, stop-reason names, a block
// sequencer for streams whose wire form lacks explicit block starts, and a
// debug JSON view of the canonical types (used by the round-trip tests).
//
// Conventions every reader follows:
//   - a JSON `null` counts as absent (OpenAI clients send `"stop": null`);
//   - errors are kInvalidArgument with the message "<path>: <problem>", where
//     the path looks like "messages[2].content[0].type";
//   - nothing here throws: types are checked before nlohmann accessors run.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/types.h"

// Status plumbing for the parsers. Local names (not RETURN_IF_ERROR) so they
// cannot collide with another part's macros.
#define FORMATS_CONCAT_INNER(a, b) a##b
#define FORMATS_CONCAT(a, b) FORMATS_CONCAT_INNER(a, b)
#define FORMATS_RETURN_IF_ERROR(expr)                                                      \
  do {                                                                                     \
    if (absl::Status formats_status = (expr); !formats_status.ok()) return formats_status; \
  } while (false)
#define FORMATS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(*tmp)
#define FORMATS_ASSIGN_OR_RETURN(lhs, expr) \
  FORMATS_ASSIGN_OR_RETURN_IMPL(FORMATS_CONCAT(formats_or_, __LINE__), lhs, expr)

namespace basalt::models::formats {

using Json = nlohmann::json;

// ---- Field paths and errors ----

// "parent.key", or "key" when parent is empty.
std::string FieldPath(std::string_view parent, std::string_view key);
// "parent[index]".
std::string IndexPath(std::string_view parent, size_t index);
// kInvalidArgument "<path>: <problem>" (just "<problem>" for an empty path).
absl::Status FieldError(std::string_view path, std::string_view problem);
// An upstream answer that fails validation is the upstream's fault, not the
// client's: kInvalidArgument becomes kUnavailable ("malformed upstream
// response: ..."), so it is not reported as a client error and may fall back.
absl::Status UpstreamError(const absl::Status& status);

// The JSON type name used in errors: "string", "array", ...
std::string_view TypeName(const Json& value);

// ---- Readers (object members; null == absent) ----

// The member, or nullptr when `object` is not an object, lacks it, or it is null.
const Json* Find(const Json& object, std::string_view key);

absl::Status ExpectObject(const Json& value, std::string_view path);

absl::StatusOr<std::string> GetString(const Json& object, std::string_view key,
                                      std::string_view parent);
absl::StatusOr<std::optional<std::string>> GetOptionalString(const Json& object,
                                                             std::string_view key,
                                                             std::string_view parent);
absl::StatusOr<std::optional<bool>> GetOptionalBool(const Json& object, std::string_view key,
                                                    std::string_view parent);
// An integer >= `min` (an integral float such as 512.0 is accepted).
absl::StatusOr<std::optional<int64_t>> GetOptionalInt(const Json& object, std::string_view key,
                                                      std::string_view parent, int64_t min);
// A number within [min, max].
absl::StatusOr<std::optional<double>> GetOptionalNumber(const Json& object, std::string_view key,
                                                        std::string_view parent, double min,
                                                        double max);
// The member if it is an array; nullptr when absent and !required.
absl::StatusOr<const Json*> GetArray(const Json& object, std::string_view key,
                                     std::string_view parent, bool required);
// The member if it is an object; nullptr when absent and !required.
absl::StatusOr<const Json*> GetObject(const Json& object, std::string_view key,
                                      std::string_view parent, bool required);
// An array of strings (empty when absent).
absl::StatusOr<std::vector<std::string>> GetStringList(const Json& object, std::string_view key,
                                                       std::string_view parent);

// Copies every member of `extra` that `body` does not already have: fields the
// canonical form does not model pass through, and the canonical fields win.
void MergeExtra(const Json& extra, Json* body);

// Serialises without throwing (invalid UTF-8 is replaced, never an exception).
std::string Dump(const Json& value);

// Joins with a separator.
std::string Join(const std::vector<std::string>& parts, std::string_view separator);

// ---- Images ----

// "data:image/png;base64,AAAA" → {media_type, data}; nullopt when not a base64 data URL.
std::optional<ImageContent> ParseDataUrl(std::string_view url);
// The data URL of a base64 image.
std::string DataUrl(const ImageContent& image);
// A data: URL in `url` becomes media_type + data; other images are returned unchanged.
ImageContent InlineDataUrl(ImageContent image);

// ---- Tool arguments ----

// OpenAI carries tool inputs as JSON text. Canonical inputs are always JSON
// objects: valid object text parses to itself, empty text to {}, anything else
// (invalid JSON, or JSON that is not an object) is kept verbatim as
// {"_raw": text} so the conversation can continue and rendering restores it.
Json ParseToolArguments(std::string_view text);
// The inverse: {"_raw": text} → text; any other value → its JSON text.
std::string ToolArgumentsText(const Json& input);

// ---- Stop reasons ----

// "end_turn", "max_tokens", "stop_sequence", "tool_use", "content_filtered".
std::optional<StopReason> StopReasonFromName(std::string_view name);

// ---- Streams ----

// Produces the canonical BlockStart/BlockStop framing for wire streams that
// announce blocks implicitly (OpenAI chunks, Converse text blocks): at most one
// block is open; opening another closes the previous one.
class BlockSequencer {
 public:
  // Emits BlockStart for `index` (closing the open block first).
  void OpenText(int index, std::vector<ChatDelta>* out);
  void OpenTool(int index, const ToolUse& tool, std::vector<ChatDelta>* out);
  // Emits BlockStop for the open block, if any.
  void Close(std::vector<ChatDelta>* out);
  bool IsOpen(int index) const { return open_ == index; }
  bool open_is_tool() const { return open_is_tool_; }
  bool any_open() const { return open_ >= 0; }

 private:
  int open_ = -1;
  bool open_is_tool_ = false;
};

ChatDelta MessageStartDelta(std::string id, std::string model);
ChatDelta TextDelta(int index, std::string text);
ChatDelta ToolInputDelta(int index, std::string partial_json);
ChatDelta MessageStopDelta(StopReason reason, std::string stop_sequence);
ChatDelta UsageDelta(Usage usage);

// ---- Debug views (every field, for logs and test comparisons) ----

Json CanonicalJson(const ContentBlock& block);
Json CanonicalJson(const ChatRequest& request);
Json CanonicalJson(const ChatResponse& response);
Json CanonicalJson(const ChatDelta& delta);
Json CanonicalJson(const std::vector<ChatDelta>& deltas);

}  // namespace basalt::models::formats
