// The canonical chat format every provider and every serving API translates to
// and from. It is the union of what OpenAI chat completions, Anthropic Messages
// and Bedrock Converse can express, so a request or response travels between
// any two of them through this form without losing anything the other side can
// represent:
//   - the system prompt is separate from the turns (Anthropic, Converse); an
//     OpenAI "system"/"developer" message maps to it;
//   - a turn is a role plus ordered content blocks: text, image, tool use,
//     tool result (OpenAI's `tool` role messages become tool-result blocks in a
//     user turn, as in Anthropic and Converse);
//   - tool inputs and schemas are JSON values, never re-encoded text.
// Plain value types; copy freely. No I/O here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace basalt::models {

enum class Role { kUser, kAssistant };

struct ContentBlock;

struct ImageContent {
  std::string media_type;  // "image/png", "image/jpeg", "image/gif", "image/webp"
  std::string data;        // base64 bytes; empty when `url` is set
  std::string url;         // a remote or data: URL (OpenAI image_url); empty when `data` is set
};

struct ToolUse {
  std::string id;       // provider's tool-call id (OpenAI call_..., Anthropic toolu_...)
  std::string name;
  nlohmann::json input = nlohmann::json::object();
};

struct ToolResult {
  std::string tool_use_id;
  std::vector<ContentBlock> content;  // text, json or image blocks
  bool is_error = false;
};

struct ContentBlock {
  enum class Type { kText, kImage, kToolUse, kToolResult, kJson };
  Type type = Type::kText;
  std::string text;                  // kText
  nlohmann::json json;               // kJson (Converse tool-result `json` blocks)
  ImageContent image;                // kImage
  ToolUse tool_use;                  // kToolUse
  ToolResult tool_result;            // kToolResult

  static ContentBlock Text(std::string t) {
    ContentBlock b;
    b.text = std::move(t);
    return b;
  }
  static ContentBlock ToolCall(ToolUse use) {
    ContentBlock b;
    b.type = Type::kToolUse;
    b.tool_use = std::move(use);
    return b;
  }
};

struct Message {
  Role role = Role::kUser;
  std::vector<ContentBlock> content;
};

struct ToolSpec {
  std::string name;
  std::string description;
  nlohmann::json input_schema = nlohmann::json::object();  // JSON Schema
};

struct ToolChoice {
  enum class Mode { kAuto, kAny, kNone, kTool };
  Mode mode = Mode::kAuto;
  std::string name;  // kTool
};

struct ChatRequest {
  std::string model;                // alias or upstream id, as the client sent it
  std::string system;               // empty: none
  std::vector<Message> messages;
  std::vector<ToolSpec> tools;
  std::optional<ToolChoice> tool_choice;
  std::optional<int64_t> max_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::vector<std::string> stop;
  bool stream = false;
  // Provider-specific fields passed through untouched (Converse
  // additionalModelRequestFields, unknown OpenAI/Anthropic fields).
  nlohmann::json extra = nlohmann::json::object();
};

enum class StopReason { kEndTurn, kMaxTokens, kStopSequence, kToolUse, kContentFiltered };

struct Usage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
};

struct ChatResponse {
  std::string id;
  std::string model;  // the upstream model that answered
  std::vector<ContentBlock> content;  // role is always assistant
  StopReason stop_reason = StopReason::kEndTurn;
  std::string stop_sequence;  // when stop_reason is kStopSequence
  Usage usage;
};

// One step of a streamed answer. A stream is: kMessageStart, then for each
// content block kBlockStart, deltas, kBlockStop, then kMessageStop (with the
// stop reason) and kUsage.
struct ChatDelta {
  enum class Type {
    kMessageStart,
    kBlockStart,      // index; tool_use.id/name for a tool block, else text block
    kTextDelta,       // index, text
    kToolInputDelta,  // index, partial_json (a fragment of the tool input's JSON text)
    kBlockStop,       // index
    kMessageStop,     // stop_reason, stop_sequence
    kUsage,           // usage
  };
  Type type = Type::kTextDelta;
  int index = 0;
  bool is_tool = false;
  ToolUse tool_use;
  std::string text;
  std::string partial_json;
  StopReason stop_reason = StopReason::kEndTurn;
  std::string stop_sequence;
  Usage usage;
  std::string id;     // kMessageStart
  std::string model;  // kMessageStart
};

struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> inputs;
  std::optional<int> dimensions;
};

struct EmbeddingResponse {
  std::string model;
  std::vector<std::vector<float>> embeddings;  // one per input, in order
  Usage usage;                                  // input_tokens only
};

struct ModelInfo {
  std::string id;
  std::string provider;
  std::string owned_by;
};

// Text names used by the wire formats.
std::string_view StopReasonName(StopReason reason);  // "end_turn", "max_tokens", ...

}  // namespace basalt::models
