// Bedrock Runtime Converse / ConverseStream <-> the canonical types
// (models/types.h), both directions. Shapes follow
// ../shared/conformance/contracts/bedrock-runtime-2023-09-30.service-2.json.
//
// Mapping:
//   - modelId is in the URL (/model/{modelId}/converse), and streaming is the
//     operation (converse vs converse-stream), so ParseChatRequest leaves
//     `model` empty and `stream` false for the caller to set, and
//     RenderChatRequest writes neither.
//   - system [{text}] joined with "\n\n"; inferenceConfig {maxTokens,
//     temperature, topP, stopSequences}; toolConfig {tools:[{toolSpec}],
//     toolChoice {auto|any|tool}}.
//   - blocks: text, image {format, source:{bytes (base64 in JSON)}} or
//     source.s3Location (→ url "s3://..."), toolUse, toolResult {content
//     [text|json|image], status}. cachePoint blocks are skipped (prompt-cache
//     hints have no canonical form).
//   - additionalModelRequestFields → extra["additionalModelRequestFields"]; the
//     other top-level fields (guardrailConfig, requestMetadata, ...) → extra
//     under their own names; both are copied back verbatim.
//   - a response's stop sequence travels, as Bedrock returns it for Claude, in
//     additionalModelResponseFields.stop_sequence.
//
// What Converse cannot carry: images by http(s) URL (CheckRenderable reports
// them; RenderChatRequest writes a text placeholder), tool choice "none" (the
// tools are left out instead, unless the conversation already holds tool
// blocks, which need toolConfig; then it renders as auto), response id and
// model. Dropped on parse: s3Location.bucketOwner, toolSpec.strict.
//
// Thread-safety: functions are pure; EventRenderer/EventParser hold per-stream
// state, one per stream, used from one thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/formats/format_util.h"
#include "models/types.h"

namespace basalt::models::converse {

// Validates a client's Converse body. Errors are kInvalidArgument naming the
// field, e.g. "messages[0].content[1]: unknown block type 'video'".
absl::StatusOr<ChatRequest> ParseChatRequest(const nlohmann::json& body);
// The Converse body basalt sends Bedrock (no modelId: it goes in the URL).
nlohmann::json RenderChatRequest(const ChatRequest& request);
// kInvalidArgument naming the first block Converse cannot take (an image by
// http(s) URL); OK when RenderChatRequest loses nothing but the documented.
absl::Status CheckRenderable(const ChatRequest& request);

absl::StatusOr<ChatResponse> ParseChatResponse(const nlohmann::json& body);
// {output:{message}, stopReason, usage, metrics:{latencyMs}}.
nlohmann::json RenderChatResponse(const ChatResponse& response, int64_t latency_ms);

// Converse's stopReason names ("end_turn", ..., "content_filtered").
std::string_view StopReasonWireName(StopReason reason);
// Also maps guardrail_intervened → kContentFiltered and
// model_context_window_exceeded → kMaxTokens; unknown names → kEndTurn.
StopReason StopReasonFromWire(std::string_view name);

// (event type, JSON payload): the lead frames each as one event-stream message
// with `:event-type` = the first member.
using Event = std::pair<std::string, nlohmann::json>;

// Renders canonical deltas as ConverseStream events: messageStart,
// contentBlockStart (tool blocks only, as AWS does), contentBlockDelta,
// contentBlockStop, messageStop, metadata.
class EventRenderer {
 public:
  // `latency_ms` is reported in the metadata event (used for kUsage only).
  std::vector<Event> Render(const ChatDelta& delta, int64_t latency_ms = 0);
};

// Turns ConverseStream events back into canonical deltas: a text block's
// kBlockStart is synthesised from its first delta (or its stop, when empty).
// Exception events (throttlingException, validationException, ...) fail with
// the matching code.
class EventParser {
 public:
  absl::Status Feed(std::string_view event_type, const nlohmann::json& payload,
                    std::vector<ChatDelta>* out);
  // kUnavailable when the stream ended before messageStop; emits kUsage (zero)
  // when no metadata event came.
  absl::Status Finish(std::vector<ChatDelta>* out);

 private:
  bool started_ = false;
  bool stopped_ = false;
  bool usage_emitted_ = false;
  std::set<int> seen_;     // block indexes already started
  std::set<int> skipped_;  // blocks with no canonical form (reasoning, ...)
  formats::BlockSequencer blocks_;
};

}  // namespace basalt::models::converse
