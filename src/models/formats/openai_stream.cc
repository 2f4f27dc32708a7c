// OpenAI chat.completion.chunk streams <-> canonical ChatDelta sequences.
#include "core/strings.h"
#include "models/formats/format_util.h"
#include "models/formats/openai_format.h"

namespace basalt::models::openai {

using formats::Find;
using formats::Json;

ChunkRenderer::ChunkRenderer(Options options) : options_(std::move(options)) {}

Json ChunkRenderer::Chunk(Json delta, Json finish_reason) const {
  Json choice = {{"index", 0},
                 {"delta", std::move(delta)},
                 {"logprobs", nullptr},
                 {"finish_reason", std::move(finish_reason)}};
  Json chunk = {{"id", options_.id},
                {"object", "chat.completion.chunk"},
                {"created", options_.created},
                {"model", options_.model},
                {"choices", Json::array({std::move(choice)})}};
  // With include_usage, every chunk but the last carries "usage": null (OpenAI's shape).
  if (options_.include_usage) chunk["usage"] = nullptr;
  return chunk;
}

std::vector<Json> ChunkRenderer::Render(const ChatDelta& delta) {
  switch (delta.type) {
    case ChatDelta::Type::kMessageStart:
      if (options_.id.empty()) options_.id = delta.id;
      if (options_.model.empty()) options_.model = delta.model;
      return {Chunk({{"role", "assistant"}, {"content", ""}}, nullptr)};
    case ChatDelta::Type::kBlockStart: {
      if (!delta.is_tool) return {};
      const int ordinal = tools_seen_++;
      tool_calls_[delta.index] = ordinal;
      Json call = {{"index", ordinal},
                   {"id", delta.tool_use.id},
                   {"type", "function"},
                   {"function", {{"name", delta.tool_use.name}, {"arguments", ""}}}};
      return {Chunk({{"tool_calls", Json::array({std::move(call)})}}, nullptr)};
    }
    case ChatDelta::Type::kTextDelta:
      return {Chunk({{"content", delta.text}}, nullptr)};
    case ChatDelta::Type::kToolInputDelta: {
      auto it = tool_calls_.find(delta.index);
      if (it == tool_calls_.end()) return {};  // no tool block started at this index
      Json call = {{"index", it->second}, {"function", {{"arguments", delta.partial_json}}}};
      return {Chunk({{"tool_calls", Json::array({std::move(call)})}}, nullptr)};
    }
    case ChatDelta::Type::kBlockStop:
      return {};
    case ChatDelta::Type::kMessageStop:
      return {Chunk(Json::object(), FinishReason(delta.stop_reason))};
    case ChatDelta::Type::kUsage: {
      if (!options_.include_usage) return {};
      const Usage& u = delta.usage;
      return {{{"id", options_.id},
               {"object", "chat.completion.chunk"},
               {"created", options_.created},
               {"model", options_.model},
               {"choices", Json::array()},
               {"usage",
                {{"prompt_tokens", u.input_tokens},
                 {"completion_tokens", u.output_tokens},
                 {"total_tokens", u.input_tokens + u.output_tokens}}}}};
    }
  }
  return {};
}

namespace {

StopReason FromFinishReason(std::string_view finish) {
  if (finish == "length") return StopReason::kMaxTokens;
  if (finish == "tool_calls" || finish == "function_call") return StopReason::kToolUse;
  if (finish == "content_filter") return StopReason::kContentFiltered;
  return StopReason::kEndTurn;
}

absl::Status Malformed(std::string_view what) {
  return absl::UnavailableError(StrCat("malformed upstream stream chunk: ", what));
}

int64_t IntOr(const Json& object, std::string_view key, int64_t fallback) {
  const Json* v = Find(object, key);
  return v != nullptr && v->is_number_integer() ? v->get<int64_t>() : fallback;
}

}  // namespace

absl::Status ChunkParser::FeedToolCalls(const Json& calls, std::vector<ChatDelta>* out) {
  if (!calls.is_array()) return Malformed("delta.tool_calls is not an array");
  for (size_t i = 0; i < calls.size(); ++i) {
    const Json& call = calls[i];
    if (!call.is_object()) return Malformed("delta.tool_calls item is not an object");
    const int wire_index = static_cast<int>(IntOr(call, "index", static_cast<int64_t>(i)));
    const Json* function = Find(call, "function");
    const Json* arguments = function != nullptr ? Find(*function, "arguments") : nullptr;
    auto it = tool_calls_.find(wire_index);
    if (it == tool_calls_.end()) {
      ToolUse tool;
      const Json* id = Find(call, "id");
      tool.id =
          id != nullptr && id->is_string() ? id->get<std::string>() : StrCat("call_", wire_index);
      const Json* name = function != nullptr ? Find(*function, "name") : nullptr;
      if (name != nullptr && name->is_string()) tool.name = name->get<std::string>();
      it = tool_calls_.emplace(wire_index, next_index_++).first;
      blocks_.OpenTool(it->second, tool, out);
      text_index_ = -1;
    } else if (!blocks_.IsOpen(it->second)) {
      return Malformed(StrCat("arguments for tool call ", wire_index, " after it ended"));
    }
    if (arguments != nullptr && arguments->is_string() &&
        !arguments->get_ref<const std::string&>().empty()) {
      out->push_back(formats::ToolInputDelta(it->second, arguments->get<std::string>()));
    }
  }
  return absl::OkStatus();
}

absl::Status ChunkParser::Feed(const Json& chunk, std::vector<ChatDelta>* out) {
  if (!chunk.is_object()) return Malformed("not a JSON object");
  if (const Json* error = Find(chunk, "error")) {
    const Json* message = Find(*error, "message");
    return absl::UnavailableError(
        StrCat("upstream stream error: ", message != nullptr && message->is_string()
                                              ? message->get<std::string>()
                                              : formats::Dump(*error)));
  }
  if (!started_) {
    started_ = true;
    const Json* id = Find(chunk, "id");
    const Json* model = Find(chunk, "model");
    out->push_back(formats::MessageStartDelta(
        id != nullptr && id->is_string() ? id->get<std::string>() : "",
        model != nullptr && model->is_string() ? model->get<std::string>() : ""));
  }
  const Json* usage = Find(chunk, "usage");
  if (usage != nullptr && usage->is_object()) {
    usage_ = {IntOr(*usage, "prompt_tokens", 0), IntOr(*usage, "completion_tokens", 0)};
  }
  const Json* choices = Find(chunk, "choices");
  if (choices != nullptr && !choices->is_array()) return Malformed("choices is not an array");
  const bool no_choices = choices == nullptr || choices->empty();
  for (size_t i = 0; !no_choices && i < choices->size() && !stopped_; ++i) {
    const Json& choice = (*choices)[i];
    if (!choice.is_object()) return Malformed("choice is not an object");
    if (IntOr(choice, "index", 0) != 0) continue;  // basalt asks for one choice
    if (const Json* delta = Find(choice, "delta"); delta != nullptr && delta->is_object()) {
      for (const char* key : {"content", "refusal"}) {
        const Json* text = Find(*delta, key);
        if (text == nullptr || !text->is_string() || text->get_ref<const std::string&>().empty()) {
          continue;
        }
        if (text_index_ < 0 || !blocks_.IsOpen(text_index_)) {
          text_index_ = next_index_++;
          blocks_.OpenText(text_index_, out);
        }
        out->push_back(formats::TextDelta(text_index_, text->get<std::string>()));
      }
      if (const Json* calls = Find(*delta, "tool_calls")) {
        FORMATS_RETURN_IF_ERROR(FeedToolCalls(*calls, out));
      }
    }
    if (const Json* finish = Find(choice, "finish_reason");
        finish != nullptr && finish->is_string()) {
      blocks_.Close(out);
      out->push_back(formats::MessageStopDelta(FromFinishReason(finish->get<std::string>()), ""));
      stopped_ = true;
    }
  }
  if (stopped_ && no_choices && usage != nullptr && usage->is_object() && !usage_emitted_) {
    out->push_back(formats::UsageDelta(usage_));
    usage_emitted_ = true;
  }
  return absl::OkStatus();
}

absl::Status ChunkParser::Finish(std::vector<ChatDelta>* out) {
  if (!started_) return absl::UnavailableError("upstream stream ended before any chunk");
  if (!stopped_) return absl::UnavailableError("upstream stream ended before a finish_reason");
  if (!usage_emitted_) {
    out->push_back(formats::UsageDelta(usage_));
    usage_emitted_ = true;
  }
  return absl::OkStatus();
}

}  // namespace basalt::models::openai
