#include "models/builtin/chat_stream.h"

#include "absl/status/status.h"
#include "models/builtin/utf8.h"

namespace basalt::models::builtin {

std::vector<std::string_view> WordPieces(std::string_view text) {
  std::vector<std::string_view> pieces;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && IsAsciiSpace(text[i])) ++i;
    while (i < text.size() && !IsAsciiSpace(text[i])) ++i;
    pieces.push_back(text.substr(start, i - start));
  }
  return pieces;
}

std::vector<std::string_view> JsonFragments(std::string_view json_text, size_t max_bytes) {
  std::vector<std::string_view> pieces;
  size_t i = 0;
  while (i < json_text.size()) {
    const size_t start = i;
    while (i < json_text.size() &&
           (i == start || i - start + Utf8CharLength(json_text, i) <= max_bytes)) {
      i += Utf8CharLength(json_text, i);
    }
    pieces.push_back(json_text.substr(start, i - start));
  }
  return pieces;
}

std::vector<ChatDelta> ToDeltas(const ChatResponse& response) {
  std::vector<ChatDelta> deltas;
  ChatDelta start;
  start.type = ChatDelta::Type::kMessageStart;
  start.id = response.id;
  start.model = response.model;
  start.usage.input_tokens = response.usage.input_tokens;
  deltas.push_back(std::move(start));

  for (size_t i = 0; i < response.content.size(); ++i) {
    const ContentBlock& block = response.content[i];
    const int index = static_cast<int>(i);
    const bool is_tool = block.type == ContentBlock::Type::kToolUse;
    ChatDelta open;
    open.type = ChatDelta::Type::kBlockStart;
    open.index = index;
    open.is_tool = is_tool;
    if (is_tool) {
      open.tool_use.id = block.tool_use.id;
      open.tool_use.name = block.tool_use.name;
    }
    deltas.push_back(std::move(open));
    if (is_tool) {
      const std::string input =
          block.tool_use.input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      for (std::string_view piece : JsonFragments(input)) {
        ChatDelta d;
        d.type = ChatDelta::Type::kToolInputDelta;
        d.index = index;
        d.is_tool = true;
        d.partial_json = std::string(piece);
        deltas.push_back(std::move(d));
      }
    } else {
      for (std::string_view piece : WordPieces(block.text)) {
        ChatDelta d;
        d.type = ChatDelta::Type::kTextDelta;
        d.index = index;
        d.text = std::string(piece);
        deltas.push_back(std::move(d));
      }
    }
    ChatDelta close;
    close.type = ChatDelta::Type::kBlockStop;
    close.index = index;
    close.is_tool = is_tool;
    deltas.push_back(std::move(close));
  }

  ChatDelta stop;
  stop.type = ChatDelta::Type::kMessageStop;
  stop.stop_reason = response.stop_reason;
  stop.stop_sequence = response.stop_sequence;
  deltas.push_back(std::move(stop));
  ChatDelta usage;
  usage.type = ChatDelta::Type::kUsage;
  usage.usage = response.usage;
  deltas.push_back(std::move(usage));
  return deltas;
}

boost::asio::awaitable<absl::StatusOr<std::optional<ChatDelta>>> BuiltinChatStream::Next() {
  if (next_ >= deltas_.size()) co_return std::optional<ChatDelta>();
  if (std::chrono::steady_clock::now() >= deadline_) {
    co_return absl::DeadlineExceededError("deadline exceeded while streaming the builtin answer");
  }
  co_return std::optional<ChatDelta>(std::move(deltas_[next_++]));
}

}  // namespace basalt::models::builtin
