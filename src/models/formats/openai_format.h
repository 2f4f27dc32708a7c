// OpenAI chat completions, embeddings and model list <-> the canonical types
// (models/types.h), both directions: Parse* reads what a client sent basalt or
// what an upstream answered; Render* writes what basalt sends upstream or
// answers a client. Field names follow the OpenAI OpenAPI spec
// (../shared/conformance/contracts/openai-openapi.yaml).
//
// Mapping (request):
//   - "system" and "developer" messages → ChatRequest::system, joined with
//     "\n\n" (their position among the turns is not kept); rendered as one
//     leading "system" message.
//   - "tool" messages → tool_result blocks in a user turn. A tool message joins
//     the preceding user turn if there is one; a user message joins the turn
//     when that turn ends in a tool result. So a canonical user turn holding
//     tool results renders as tool messages (+ user messages for other blocks)
//     and parses back to the same single turn.
//   - assistant tool_calls → tool_use blocks. `arguments` is JSON text; text
//     that is not a JSON object is kept as {"_raw": text} (see
//     formats::ParseToolArguments) and rendered back verbatim.
//   - image_url parts: data: URLs → media_type + base64 data; other URLs → url.
//   - max_completion_tokens (preferred) or max_tokens → max_tokens; `stop`
//     string or array; `n` must be 1 when present; every other unknown
//     top-level field (stream_options, user, seed, response_format, ...) → extra.
//
// What OpenAI cannot carry (lost when a canonical request is rendered here):
//   - tool_result.is_error (always false after a round trip);
//   - json blocks inside a tool result: rendered as their JSON text (text blocks);
//   - images inside a tool result: tool messages hold text only, so they are
//     moved to a user message right after the run of tool messages;
//   - text placed after tool_use blocks in an assistant turn (OpenAI keeps text
//     before tool_calls), empty text blocks in assistant turns;
//   - image `detail`, message `name`, tool `strict` are dropped on parse.
// Responses: OpenAI reports neither which stop sequence matched nor
// "stop_sequence" vs "end_turn" (both are "stop"), and joins text blocks.
//
// Thread-safety: functions are pure; ChunkRenderer/ChunkParser hold per-stream
// state, one per stream, used from one thread.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/formats/format_util.h"
#include "models/types.h"

namespace basalt::models::openai {

// ---- Chat ----

// Validates a client's /v1/chat/completions body. Errors are kInvalidArgument
// naming the field, e.g. "messages[2].content[0].type: unknown content part type 'foo'".
absl::StatusOr<ChatRequest> ParseChatRequest(const nlohmann::json& body);

struct RenderOptions {
  // Newer OpenAI models (o-series, gpt-5) reject `max_tokens`; most OpenAI-
  // compatible servers (vLLM, llama.cpp, Ollama, TGI, LM Studio) know only it.
  bool use_max_completion_tokens = false;
  // With stream=true, ask the upstream for a final usage chunk
  // (stream_options.include_usage), so streamed answers report tokens.
  bool request_stream_usage = true;
};

// The body basalt sends an OpenAI-compatible upstream. `extra` fields are
// copied through at the top level (canonical fields win on a clash).
nlohmann::json RenderChatRequest(const ChatRequest& request, const RenderOptions& options = {});

// Reads an upstream chat.completion (choice 0).
absl::StatusOr<ChatResponse> ParseChatResponse(const nlohmann::json& body);

// The chat.completion object basalt answers a client. `created` is Unix seconds.
nlohmann::json RenderChatResponse(const ChatResponse& response, int64_t created);

// "stop" (end_turn, stop_sequence), "length", "tool_calls", "content_filter".
std::string_view FinishReason(StopReason reason);

// Whether a parsed request asked for a usage chunk (stream_options.include_usage).
bool IncludeUsage(const ChatRequest& request);

// Renders a canonical delta sequence as chat.completion.chunk objects (one SSE
// `data:` each; the caller writes the final `data: [DONE]`).
class ChunkRenderer {
 public:
  struct Options {
    std::string id;              // empty: the kMessageStart delta's id
    std::string model;           // empty: the kMessageStart delta's model
    int64_t created = 0;         // Unix seconds
    bool include_usage = false;  // stream_options.include_usage
  };
  explicit ChunkRenderer(Options options);

  // Zero or more chunks for one delta: kMessageStart → the role chunk; a tool
  // kBlockStart → the tool call's id/name; text and argument deltas; kMessageStop
  // → the finish_reason chunk; kUsage → the usage chunk (only with include_usage).
  std::vector<nlohmann::json> Render(const ChatDelta& delta);

 private:
  nlohmann::json Chunk(nlohmann::json delta, nlohmann::json finish_reason) const;
  Options options_;
  std::map<int, int> tool_calls_;  // canonical block index → tool_calls index
  int tools_seen_ = 0;
};

// Turns upstream chat.completion.chunk objects back into the canonical delta
// sequence, synthesising kMessageStart, kBlockStart/kBlockStop, kMessageStop
// and kUsage in the canonical order. Canonical block indexes count from 0 in
// order of appearance. kUsage is emitted when the usage-only chunk arrives,
// else by Finish (with whatever usage was seen, zero if none).
class ChunkParser {
 public:
  // A chunk carrying {"error": ...} fails with kUnavailable.
  absl::Status Feed(const nlohmann::json& chunk, std::vector<ChatDelta>* out);
  // Call at `data: [DONE]` or the end of the body. kUnavailable when the stream
  // ended before a finish_reason.
  absl::Status Finish(std::vector<ChatDelta>* out);

 private:
  absl::Status FeedToolCalls(const nlohmann::json& calls, std::vector<ChatDelta>* out);

  bool started_ = false;
  bool stopped_ = false;
  bool usage_emitted_ = false;
  int next_index_ = 0;             // the next canonical block index
  int text_index_ = -1;            // canonical index of the open text block
  std::map<int, int> tool_calls_;  // tool_calls index → canonical block index
  formats::BlockSequencer blocks_;
  Usage usage_;
};

// ---- Embeddings and models ----

enum class EmbeddingEncoding { kFloat, kBase64 };

struct EmbeddingCall {
  EmbeddingRequest request;
  EmbeddingEncoding encoding = EmbeddingEncoding::kFloat;  // how to answer
};

// /v1/embeddings body: `input` a string or an array of strings (token arrays
// are kInvalidArgument: unsupported), `dimensions` >= 1, `encoding_format`
// float|base64 (the openai SDKs default to base64).
absl::StatusOr<EmbeddingCall> ParseEmbeddingRequest(const nlohmann::json& body);
// The body sent upstream (encoding_format float, input always an array).
nlohmann::json RenderEmbeddingRequest(const EmbeddingRequest& request);
// Reads an upstream answer, float or base64, in `index` order.
absl::StatusOr<EmbeddingResponse> ParseEmbeddingResponse(const nlohmann::json& body);
// base64 is the little-endian float32 bytes, as OpenAI sends it.
nlohmann::json RenderEmbeddingResponse(const EmbeddingResponse& response,
                                       EmbeddingEncoding encoding = EmbeddingEncoding::kFloat);

// {object:"list", data:[{id, object:"model", created, owned_by}]}; owned_by
// falls back to the provider name.
nlohmann::json RenderModelList(const std::vector<ModelInfo>& models, int64_t created = 0);
absl::StatusOr<std::vector<ModelInfo>> ParseModelList(const nlohmann::json& body);

}  // namespace basalt::models::openai
