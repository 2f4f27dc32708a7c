// ConverseStream events <-> canonical ChatDelta sequences.
#include "core/strings.h"
#include "models/formats/converse_format.h"

namespace basalt::models::converse {

using formats::Find;
using formats::Json;

std::vector<Event> EventRenderer::Render(const ChatDelta& delta, int64_t latency_ms) {
  switch (delta.type) {
    case ChatDelta::Type::kMessageStart:
      return {{"messageStart", {{"role", "assistant"}}}};
    case ChatDelta::Type::kBlockStart:
      if (!delta.is_tool) return {};  // AWS announces only tool blocks
      return {
          {"contentBlockStart",
           {{"contentBlockIndex", delta.index},
            {"start",
             {{"toolUse", {{"toolUseId", delta.tool_use.id}, {"name", delta.tool_use.name}}}}}}}};
    case ChatDelta::Type::kTextDelta:
      return {{"contentBlockDelta",
               {{"contentBlockIndex", delta.index}, {"delta", {{"text", delta.text}}}}}};
    case ChatDelta::Type::kToolInputDelta:
      return {{"contentBlockDelta",
               {{"contentBlockIndex", delta.index},
                {"delta", {{"toolUse", {{"input", delta.partial_json}}}}}}}};
    case ChatDelta::Type::kBlockStop:
      return {{"contentBlockStop", {{"contentBlockIndex", delta.index}}}};
    case ChatDelta::Type::kMessageStop: {
      Json stop = {{"stopReason", StopReasonWireName(delta.stop_reason)}};
      if (!delta.stop_sequence.empty()) {
        stop["additionalModelResponseFields"] = {{"stop_sequence", delta.stop_sequence}};
      }
      return {{"messageStop", std::move(stop)}};
    }
    case ChatDelta::Type::kUsage: {
      const Usage& u = delta.usage;
      return {{"metadata",
               {{"usage",
                 {{"inputTokens", u.input_tokens},
                  {"outputTokens", u.output_tokens},
                  {"totalTokens", u.input_tokens + u.output_tokens}}},
                {"metrics", {{"latencyMs", latency_ms}}}}}};
    }
  }
  return {};
}

namespace {

absl::Status Malformed(std::string_view event, std::string_view what) {
  return absl::UnavailableError(StrCat("malformed upstream ", event, " event: ", what));
}

int64_t IntOr(const Json& object, std::string_view key, int64_t fallback) {
  const Json* v = Find(object, key);
  return v != nullptr && v->is_number_integer() ? v->get<int64_t>() : fallback;
}

std::string StringOr(const Json& object, std::string_view key) {
  const Json* v = Find(object, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// An exception event (`:message-type: exception`, named by `:exception-type`).
std::optional<absl::Status> ExceptionStatus(std::string_view type, const Json& payload) {
  const std::string message = StrCat("upstream stream ", type, ": ",
                                     payload.is_object() ? StringOr(payload, "message") : "");
  if (type == "throttlingException") return absl::ResourceExhaustedError(message);
  if (type == "validationException") return absl::InvalidArgumentError(message);
  if (type == "serviceUnavailableException" || type == "internalServerException" ||
      type == "modelStreamErrorException") {
    return absl::UnavailableError(message);
  }
  return std::nullopt;
}

}  // namespace

absl::Status EventParser::Feed(std::string_view event_type, const Json& payload,
                               std::vector<ChatDelta>* out) {
  if (std::optional<absl::Status> error = ExceptionStatus(event_type, payload)) return *error;
  if (!payload.is_object()) return Malformed(event_type, "payload is not a JSON object");
  if (event_type == "messageStart") {
    started_ = true;
    out->push_back(formats::MessageStartDelta("", ""));
    return absl::OkStatus();
  }
  const int index = static_cast<int>(IntOr(payload, "contentBlockIndex", -1));
  if (event_type == "contentBlockStart") {
    const Json* start = Find(payload, "start");
    if (index < 0 || start == nullptr)
      return Malformed(event_type, "no contentBlockIndex or start");
    seen_.insert(index);
    const Json* tool = Find(*start, "toolUse");
    if (tool == nullptr) {
      skipped_.insert(index);  // toolResult / image starts: no canonical stream form
      return absl::OkStatus();
    }
    ToolUse use;
    use.id = StringOr(*tool, "toolUseId");
    use.name = StringOr(*tool, "name");
    blocks_.OpenTool(index, use, out);
    return absl::OkStatus();
  }
  if (event_type == "contentBlockDelta") {
    const Json* delta = Find(payload, "delta");
    if (index < 0 || delta == nullptr)
      return Malformed(event_type, "no contentBlockIndex or delta");
    if (skipped_.count(index) > 0) return absl::OkStatus();
    if (const Json* text = Find(*delta, "text"); text != nullptr && text->is_string()) {
      if (!blocks_.IsOpen(index)) {
        if (seen_.count(index) > 0) return Malformed(event_type, "text for a finished block");
        seen_.insert(index);
        blocks_.OpenText(index, out);
      }
      out->push_back(formats::TextDelta(index, text->get<std::string>()));
    } else if (const Json* tool = Find(*delta, "toolUse")) {
      if (!blocks_.IsOpen(index) || !blocks_.open_is_tool()) {
        return Malformed(event_type, "toolUse input for a block that is not an open tool block");
      }
      out->push_back(formats::ToolInputDelta(index, StringOr(*tool, "input")));
    }
    return absl::OkStatus();  // reasoningContent, citation: skipped
  }
  if (event_type == "contentBlockStop") {
    if (index < 0) return Malformed(event_type, "no contentBlockIndex");
    if (skipped_.count(index) > 0) return absl::OkStatus();
    // A text block with no deltas still had a start in the canonical form.
    if (!blocks_.IsOpen(index) && seen_.insert(index).second) blocks_.OpenText(index, out);
    if (blocks_.IsOpen(index)) blocks_.Close(out);
    return absl::OkStatus();
  }
  if (event_type == "messageStop") {
    blocks_.Close(out);
    std::string sequence;
    if (const Json* fields = Find(payload, "additionalModelResponseFields")) {
      sequence = StringOr(*fields, "stop_sequence");
    }
    out->push_back(formats::MessageStopDelta(StopReasonFromWire(StringOr(payload, "stopReason")),
                                             std::move(sequence)));
    stopped_ = true;
    return absl::OkStatus();
  }
  if (event_type == "metadata") {
    if (usage_emitted_) return absl::OkStatus();
    Usage usage;
    if (const Json* u = Find(payload, "usage")) {
      usage = {IntOr(*u, "inputTokens", 0), IntOr(*u, "outputTokens", 0)};
    }
    out->push_back(formats::UsageDelta(usage));
    usage_emitted_ = true;
    return absl::OkStatus();
  }
  return absl::OkStatus();  // event types added later
}

absl::Status EventParser::Finish(std::vector<ChatDelta>* out) {
  if (!started_) return absl::UnavailableError("upstream stream ended before messageStart");
  if (!stopped_) return absl::UnavailableError("upstream stream ended before messageStop");
  if (!usage_emitted_) {
    out->push_back(formats::UsageDelta(Usage{}));
    usage_emitted_ = true;
  }
  return absl::OkStatus();
}

}  // namespace basalt::models::converse
