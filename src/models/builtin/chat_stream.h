// Streaming for the builtin provider: a finished ChatResponse replayed as the
// canonical delta sequence (types.h):
//   kMessageStart (id, model, usage.input_tokens)
//   per block: kBlockStart, then kTextDelta pieces of about one word each
//              (" word", leading whitespace kept) or kToolInputDelta fragments
//              of the input's JSON text, then kBlockStop
//   kMessageStop (stop reason, stop sequence), kUsage.
// Concatenating the pieces gives back the text / the compact input JSON.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/provider.h"
#include "models/types.h"

namespace basalt::models::builtin {

std::vector<ChatDelta> ToDeltas(const ChatResponse& response);

// Word-sized pieces of `text`: each is a run of whitespace then a run of
// non-whitespace. They concatenate to `text`.
std::vector<std::string_view> WordPieces(std::string_view text);

// Pieces of `json_text` of at most `max_bytes` bytes (longer only to finish a
// UTF-8 character), for kToolInputDelta.
std::vector<std::string_view> JsonFragments(std::string_view json_text, size_t max_bytes = 16);

// Yields precomputed deltas. Nothing runs in the background, so dropping the
// stream early needs no cancellation. Past `deadline`, Next() fails with
// kDeadlineExceeded. Not thread-safe: one consumer.
class BuiltinChatStream final : public ChatStream {
 public:
  BuiltinChatStream(std::vector<ChatDelta> deltas, std::chrono::steady_clock::time_point deadline)
      : deltas_(std::move(deltas)), deadline_(deadline) {}

  boost::asio::awaitable<absl::StatusOr<std::optional<ChatDelta>>> Next() override;

 private:
  std::vector<ChatDelta> deltas_;
  size_t next_ = 0;
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace basalt::models::builtin
