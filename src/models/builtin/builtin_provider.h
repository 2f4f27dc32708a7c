// BuiltinProvider ("builtin"): the offline default, so basalt works on a fresh
// machine with no network and no model weights.
//
// It is a deterministic STAND-IN, NOT A LANGUAGE MODEL. It generates nothing:
//   - chat answers with the sentences of the conversation (system prompt,
//     earlier turns, tool results) that best match the last user message, or
//     says it found no answer (extractive_chat.h); a forced tool call gets
//     schema-valid input built by rules (schema_filler.h);
//   - embeddings are feature-hashed word and character n-grams, 384
//     dimensions, L2-normalised, stable across versions (embedder.h);
//   - token counts are an approximation (tokenizer.h), not a real BPE.
// The same flows use a real model when one is configured.
//
// Models listed: "builtin-chat" (chat) and "builtin-embed" (embeddings).
// Any model id is accepted for either call — the catalog may alias anything to
// this provider — and is echoed back as the response's model.
//
// Errors: kInvalidArgument naming the field (see AnswerChat; for Embed:
// "input: must not be empty", "input[i]: must not be empty", "dimensions: ...");
// kDeadlineExceeded when ctx.deadline has passed before the call (or, for a
// stream, before the next delta).
//
// Thread-safety: stateless; safe to call from any thread. Work is done inline
// in the calling coroutine (it is small: see the costs in embedder.h); there
// is no I/O, and construction does none either.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "models/provider.h"

namespace basalt::models {

class BuiltinProvider final : public ModelProvider {
 public:
  static constexpr std::string_view kName = "builtin";
  static constexpr std::string_view kChatModel = "builtin-chat";
  static constexpr std::string_view kEmbedModel = "builtin-embed";
  static constexpr int kDimensions = 384;

  BuiltinProvider() = default;

  std::string_view name() const override { return kName; }

  boost::asio::awaitable<absl::StatusOr<ChatResponse>> Chat(const RequestContext& ctx,
                                                            const ChatRequest& request) override;

  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> StreamChat(
      const RequestContext& ctx, const ChatRequest& request) override;

  // `dimensions`, when given, must be 384 (no projection to fewer).
  boost::asio::awaitable<absl::StatusOr<EmbeddingResponse>> Embed(
      const RequestContext& ctx, const EmbeddingRequest& request) override;

  boost::asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> ListModels(
      const RequestContext& ctx) override;
};

}  // namespace basalt::models
