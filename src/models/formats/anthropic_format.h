// Anthropic Messages API <-> the canonical types (models/types.h), both
// directions, including the streaming events. The same body is what Bedrock
// InvokeModel takes for Claude models (with `anthropic_version` and no `model`).
//
// Mapping:
//   - `system`: a string, or an array of text blocks joined with "\n\n";
//     rendered as a string.
//   - content: a string (one text block) or blocks: text, image (base64 or url
//     source), tool_use, tool_result (string or text/image blocks, is_error).
//   - `max_tokens` is required; `stop_sequences`, `tool_choice`
//     {auto|any|tool|none}; every other top-level field (anthropic_version,
//     metadata, top_k, thinking, ...) → extra, copied back at the top level.
//
// What Anthropic cannot carry: json blocks (a Converse tool-result form) are
// rendered as their JSON text. Dropped on parse: cache_control, citations,
// tool_choice.disable_parallel_tool_use. In responses and streams, block types
// the canonical form has no place for (thinking, redacted_thinking, server
// tool blocks) are skipped.
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
#include "models/types.h"

namespace basalt::models::anthropic {

// max_tokens used when a canonical request without one is rendered (Anthropic
// requires the field).
inline constexpr int64_t kDefaultMaxTokens = 4096;

struct ParseOptions {
  // /v1/messages requires `model`; Bedrock InvokeModel bodies carry it in the URL.
  bool require_model = true;
};

// Validates a client's Messages body. Errors are kInvalidArgument naming the
// field, e.g. "messages[1].content[0].type: unknown block type 'foo'".
absl::StatusOr<ChatRequest> ParseChatRequest(const nlohmann::json& body,
                                             const ParseOptions& options = {});
// The body basalt sends upstream; `model` is omitted when empty.
nlohmann::json RenderChatRequest(const ChatRequest& request);

absl::StatusOr<ChatResponse> ParseChatResponse(const nlohmann::json& body);
// {id, type:"message", role:"assistant", model, content, stop_reason,
// stop_sequence, usage}. kContentFiltered is Anthropic's "refusal".
nlohmann::json RenderChatResponse(const ChatResponse& response);

// "end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal".
std::string_view StopReasonWireName(StopReason reason);

// A server-sent event: (event name, data).
using Event = std::pair<std::string, nlohmann::json>;

// Renders canonical deltas as Messages stream events: message_start,
// content_block_start/delta/stop, then message_delta (stop_reason and usage)
// and message_stop. Anthropic sends the stop reason and usage together, so the
// kMessageStop delta is held until kUsage (or Finish) arrives.
class EventRenderer {
 public:
  struct Options {
    std::string id;     // empty: the kMessageStart delta's id
    std::string model;  // empty: the kMessageStart delta's model
  };
  EventRenderer() = default;
  explicit EventRenderer(Options options) : options_(std::move(options)) {}

  std::vector<Event> Render(const ChatDelta& delta);
  // Flushes a held kMessageStop when the stream ended without kUsage.
  std::vector<Event> Finish();
  // A keep-alive event the caller may interleave.
  static Event Ping();

 private:
  std::vector<Event> StopEvents(const Usage& usage);
  Options options_;
  bool stop_pending_ = false;
  bool stopped_ = false;
  ChatDelta stop_;
};

// Turns upstream Messages events back into canonical deltas. Unknown events
// and block types (thinking, ...) are skipped; an `error` event fails with the
// matching code (overloaded_error → kUnavailable, rate_limit_error →
// kResourceExhausted, invalid_request_error → kInvalidArgument, ...).
class EventParser {
 public:
  absl::Status Feed(std::string_view event, const nlohmann::json& data,
                    std::vector<ChatDelta>* out);
  // kUnavailable when the stream ended before message_delta.
  absl::Status Finish(std::vector<ChatDelta>* out);

 private:
  bool started_ = false;
  bool stopped_ = false;
  int64_t input_tokens_ = 0;
  std::set<int> skipped_;  // indexes of blocks the canonical form cannot carry
};

}  // namespace basalt::models::anthropic
