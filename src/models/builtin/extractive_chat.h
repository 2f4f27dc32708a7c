// The builtin provider's chat: an extractive stand-in, NOT a language model.
// It answers with sentences copied from the conversation itself.
//
//   1. The query is the last user message that has text. Its question
//      sentences (ending in '?'; else its last sentence) are what gets
//      answered; its other sentences join the candidates, so a RAG-style
//      "Context: ... Question: ...?" message works.
//   2. Candidates are the sentences of the system prompt, of every earlier
//      turn and of tool results (a JSON tool result is one candidate), in
//      conversation order, duplicates and questions dropped.
//   3. Candidates are ranked by BM25 against the query's terms (ranker.h,
//      terms.h). The best — at most 3, fewer when max_tokens is small (one per
//      24 tokens), each scoring at least half the best — are answered in
//      their original order, joined by spaces.
//   4. With no overlap at all the answer is kNoAnswer.
//   5. The answer is cut before the first stop sequence to be completed
//      (kStopSequence) or after max_tokens tokens (kMaxTokens), whichever
//      would have ended generation first.
//
// When tool_choice forces a tool (kAny: the first tool; kTool: the named
// one), the answer is a single tool_use block whose input is built from the
// tool's schema by rules (schema_filler.h), strings being the last user
// message; stop reason kToolUse; max_tokens and stop do not apply to it. With
// kAuto or kNone the answer is always text, so agent loops end.
//
// Everything but the generated ids is a pure function of the request:
// temperature and top_p are ignored. Usage counts come from tokenizer.h:
// input = system + every text, tool call, tool result and tool definition
// (an image counts kImageTokens); output = the answer text or the tool call.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "models/types.h"

namespace basalt::models::builtin {

inline constexpr std::string_view kNoAnswer =
    "I could not find an answer to that in the conversation.";
inline constexpr int64_t kImageTokens = 85;
inline constexpr std::string_view kDefaultChatModel = "builtin-chat";

// kInvalidArgument naming the field for: no messages, max_tokens < 1, a
// forcing tool_choice without tools or naming an unknown tool.
absl::StatusOr<ChatResponse> AnswerChat(const ChatRequest& request);

// The input-token count reported for `request`.
int64_t CountInputTokens(const ChatRequest& request);

}  // namespace basalt::models::builtin
