// Anthropic Messages stream events <-> canonical ChatDelta sequences.
#include "core/strings.h"
#include "models/formats/anthropic_format.h"
#include "models/formats/format_util.h"

namespace basalt::models::anthropic {

using formats::Find;
using formats::Json;

std::vector<Event> EventRenderer::StopEvents(const Usage& usage) {
  stop_pending_ = false;
  stopped_ = true;
  Json delta = {
      {"stop_reason", StopReasonWireName(stop_.stop_reason)},
      {"stop_sequence", stop_.stop_sequence.empty() ? Json(nullptr) : Json(stop_.stop_sequence)}};
  return {
      {"message_delta",
       {{"type", "message_delta"},
        {"delta", std::move(delta)},
        {"usage", {{"input_tokens", usage.input_tokens}, {"output_tokens", usage.output_tokens}}}}},
      {"message_stop", {{"type", "message_stop"}}}};
}

std::vector<Event> EventRenderer::Render(const ChatDelta& delta) {
  switch (delta.type) {
    case ChatDelta::Type::kMessageStart: {
      // Usage is only known at the end; it travels in message_delta.
      Json message = {{"id", options_.id.empty() ? delta.id : options_.id},
                      {"type", "message"},
                      {"role", "assistant"},
                      {"model", options_.model.empty() ? delta.model : options_.model},
                      {"content", Json::array()},
                      {"stop_reason", nullptr},
                      {"stop_sequence", nullptr},
                      {"usage", {{"input_tokens", 0}, {"output_tokens", 0}}}};
      return {{"message_start", {{"type", "message_start"}, {"message", std::move(message)}}}};
    }
    case ChatDelta::Type::kBlockStart: {
      Json block = delta.is_tool ? Json{{"type", "tool_use"},
                                        {"id", delta.tool_use.id},
                                        {"name", delta.tool_use.name},
                                        {"input", Json::object()}}
                                 : Json{{"type", "text"}, {"text", ""}};
      return {{"content_block_start",
               {{"type", "content_block_start"},
                {"index", delta.index},
                {"content_block", std::move(block)}}}};
    }
    case ChatDelta::Type::kTextDelta:
      return {{"content_block_delta",
               {{"type", "content_block_delta"},
                {"index", delta.index},
                {"delta", {{"type", "text_delta"}, {"text", delta.text}}}}}};
    case ChatDelta::Type::kToolInputDelta:
      return {{"content_block_delta",
               {{"type", "content_block_delta"},
                {"index", delta.index},
                {"delta", {{"type", "input_json_delta"}, {"partial_json", delta.partial_json}}}}}};
    case ChatDelta::Type::kBlockStop:
      return {{"content_block_stop", {{"type", "content_block_stop"}, {"index", delta.index}}}};
    case ChatDelta::Type::kMessageStop:
      stop_ = delta;
      stop_pending_ = true;
      return {};
    case ChatDelta::Type::kUsage:
      if (!stop_pending_) return {};  // usage without a stop: nothing to attach it to
      return StopEvents(delta.usage);
  }
  return {};
}

std::vector<Event> EventRenderer::Finish() {
  if (!stop_pending_) return {};
  return StopEvents(Usage{});
}

Event EventRenderer::Ping() { return {"ping", {{"type", "ping"}}}; }

namespace {

absl::Status Malformed(std::string_view event, std::string_view what) {
  return absl::UnavailableError(StrCat("malformed upstream ", event, " event: ", what));
}

std::string StringOr(const Json& object, std::string_view key) {
  const Json* v = Find(object, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

int64_t IntOr(const Json& object, std::string_view key, int64_t fallback) {
  const Json* v = Find(object, key);
  return v != nullptr && v->is_number_integer() ? v->get<int64_t>() : fallback;
}

absl::Status ErrorEvent(const Json& data) {
  const Json* error = Find(data, "error");
  const std::string type = error != nullptr ? StringOr(*error, "type") : "";
  const std::string message =
      StrCat("upstream stream error: ", error != nullptr ? StringOr(*error, "message") : "", " (",
             type, ")");
  if (type == "rate_limit_error") return absl::ResourceExhaustedError(message);
  if (type == "invalid_request_error") return absl::InvalidArgumentError(message);
  if (type == "authentication_error") return absl::UnauthenticatedError(message);
  if (type == "permission_error") return absl::PermissionDeniedError(message);
  if (type == "not_found_error") return absl::NotFoundError(message);
  return absl::UnavailableError(message);  // overloaded_error, api_error, unknown
}

}  // namespace

absl::Status EventParser::Feed(std::string_view event, const Json& data,
                               std::vector<ChatDelta>* out) {
  if (event == "ping") return absl::OkStatus();
  if (event == "error") return ErrorEvent(data);
  if (!data.is_object()) return Malformed(event, "data is not a JSON object");
  if (event == "message_start") {
    const Json* message = Find(data, "message");
    if (message == nullptr || !message->is_object()) return Malformed(event, "no message");
    if (const Json* usage = Find(*message, "usage"))
      input_tokens_ = IntOr(*usage, "input_tokens", 0);
    started_ = true;
    out->push_back(
        formats::MessageStartDelta(StringOr(*message, "id"), StringOr(*message, "model")));
    return absl::OkStatus();
  }
  const Json* index_json = Find(data, "index");
  const int index =
      index_json != nullptr && index_json->is_number_integer() ? index_json->get<int>() : -1;
  if (event == "content_block_start") {
    const Json* block = Find(data, "content_block");
    if (index < 0 || block == nullptr) return Malformed(event, "no index or content_block");
    const std::string type = StringOr(*block, "type");
    ChatDelta start;
    start.type = ChatDelta::Type::kBlockStart;
    start.index = index;
    if (type == "tool_use") {
      start.is_tool = true;
      start.tool_use.id = StringOr(*block, "id");
      start.tool_use.name = StringOr(*block, "name");
    } else if (type != "text") {
      skipped_.insert(index);  // thinking, server tools: no canonical form
      return absl::OkStatus();
    }
    out->push_back(std::move(start));
    if (type == "text" && !StringOr(*block, "text").empty()) {
      out->push_back(formats::TextDelta(index, StringOr(*block, "text")));
    }
    return absl::OkStatus();
  }
  if (event == "content_block_delta") {
    const Json* delta = Find(data, "delta");
    if (index < 0 || delta == nullptr) return Malformed(event, "no index or delta");
    if (skipped_.count(index) > 0) return absl::OkStatus();
    const std::string type = StringOr(*delta, "type");
    if (type == "text_delta") {
      out->push_back(formats::TextDelta(index, StringOr(*delta, "text")));
    } else if (type == "input_json_delta") {
      std::string partial = StringOr(*delta, "partial_json");
      if (!partial.empty()) out->push_back(formats::ToolInputDelta(index, std::move(partial)));
    }
    return absl::OkStatus();  // thinking_delta, signature_delta, citations_delta: skipped
  }
  if (event == "content_block_stop") {
    if (index < 0) return Malformed(event, "no index");
    if (skipped_.count(index) > 0) return absl::OkStatus();
    ChatDelta stop;
    stop.type = ChatDelta::Type::kBlockStop;
    stop.index = index;
    out->push_back(std::move(stop));
    return absl::OkStatus();
  }
  if (event == "message_delta") {
    if (stopped_) return absl::OkStatus();
    const Json* delta = Find(data, "delta");
    if (delta == nullptr) return Malformed(event, "no delta");
    const std::string reason = StringOr(*delta, "stop_reason");
    const StopReason stop =
        reason == "refusal" ? StopReason::kContentFiltered
                            : formats::StopReasonFromName(reason).value_or(StopReason::kEndTurn);
    out->push_back(formats::MessageStopDelta(stop, StringOr(*delta, "stop_sequence")));
    Usage usage{input_tokens_, 0};
    if (const Json* u = Find(data, "usage")) {
      usage.input_tokens = IntOr(*u, "input_tokens", input_tokens_);
      usage.output_tokens = IntOr(*u, "output_tokens", 0);
    }
    out->push_back(formats::UsageDelta(usage));
    stopped_ = true;
    return absl::OkStatus();
  }
  return absl::OkStatus();  // message_stop, and event types added later
}

absl::Status EventParser::Finish(std::vector<ChatDelta>* out) {
  if (!started_) return absl::UnavailableError("upstream stream ended before message_start");
  if (!stopped_) return absl::UnavailableError("upstream stream ended before message_delta");
  return absl::OkStatus();
}

}  // namespace basalt::models::anthropic
