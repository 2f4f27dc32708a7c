#include "models/formats/format_util.h"

#include <cmath>
#include <limits>

#include "core/strings.h"

namespace basalt::models::formats {

std::string FieldPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return StrCat(parent, ".", key);
}

std::string IndexPath(std::string_view parent, size_t index) {
  return StrCat(parent, "[", index, "]");
}

absl::Status FieldError(std::string_view path, std::string_view problem) {
  if (path.empty()) return absl::InvalidArgumentError(ToAbsl(problem));
  return absl::InvalidArgumentError(StrCat(path, ": ", problem));
}

absl::Status UpstreamError(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) return status;
  return absl::UnavailableError(StrCat("malformed upstream response: ", ToStd(status.message())));
}

std::string_view TypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    default:
      return "binary";
  }
}

const Json* Find(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::Status ExpectObject(const Json& value, std::string_view path) {
  if (value.is_object()) return absl::OkStatus();
  return FieldError(path, StrCat("must be an object, got ", TypeName(value)));
}

namespace {

absl::Status WrongType(std::string_view path, std::string_view want, const Json& got) {
  return FieldError(path, StrCat("must be ", want, ", got ", TypeName(got)));
}

}  // namespace

absl::StatusOr<std::string> GetString(const Json& object, std::string_view key,
                                      std::string_view parent) {
  const Json* v = Find(object, key);
  if (v == nullptr) return FieldError(FieldPath(parent, key), "is required");
  if (!v->is_string()) return WrongType(FieldPath(parent, key), "a string", *v);
  return v->get<std::string>();
}

absl::StatusOr<std::optional<std::string>> GetOptionalString(const Json& object,
                                                             std::string_view key,
                                                             std::string_view parent) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return WrongType(FieldPath(parent, key), "a string", *v);
  return std::optional<std::string>(v->get<std::string>());
}

absl::StatusOr<std::optional<bool>> GetOptionalBool(const Json& object, std::string_view key,
                                                    std::string_view parent) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return WrongType(FieldPath(parent, key), "a boolean", *v);
  return std::optional<bool>(v->get<bool>());
}

absl::StatusOr<std::optional<int64_t>> GetOptionalInt(const Json& object, std::string_view key,
                                                      std::string_view parent, int64_t min) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<int64_t>();
  const std::string path = FieldPath(parent, key);
  int64_t n = 0;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return FieldError(path, "is too large");
    }
    n = static_cast<int64_t>(u);
  } else if (v->is_number_integer()) {
    n = v->get<int64_t>();
  } else if (v->is_number_float()) {
    const double d = v->get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > 9.0e15) {
      return WrongType(path, "an integer", *v);
    }
    n = static_cast<int64_t>(d);
  } else {
    return WrongType(path, "an integer", *v);
  }
  if (n < min) return FieldError(path, StrCat("must be >= ", min, ", got ", n));
  return std::optional<int64_t>(n);
}

absl::StatusOr<std::optional<double>> GetOptionalNumber(const Json& object, std::string_view key,
                                                        std::string_view parent, double min,
                                                        double max) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<double>();
  const std::string path = FieldPath(parent, key);
  if (!v->is_number()) return WrongType(path, "a number", *v);
  const double d = v->get<double>();
  if (!(d >= min && d <= max)) {
    return FieldError(path, StrCat("must be between ", min, " and ", max, ", got ", d));
  }
  return std::optional<double>(d);
}

absl::StatusOr<const Json*> GetArray(const Json& object, std::string_view key,
                                     std::string_view parent, bool required) {
  const Json* v = Find(object, key);
  if (v == nullptr) {
    if (required) return FieldError(FieldPath(parent, key), "is required");
    return nullptr;
  }
  if (!v->is_array()) return WrongType(FieldPath(parent, key), "an array", *v);
  return v;
}

absl::StatusOr<const Json*> GetObject(const Json& object, std::string_view key,
                                      std::string_view parent, bool required) {
  const Json* v = Find(object, key);
  if (v == nullptr) {
    if (required) return FieldError(FieldPath(parent, key), "is required");
    return nullptr;
  }
  if (!v->is_object()) return WrongType(FieldPath(parent, key), "an object", *v);
  return v;
}

absl::StatusOr<std::vector<std::string>> GetStringList(const Json& object, std::string_view key,
                                                       std::string_view parent) {
  std::vector<std::string> out;
  FORMATS_ASSIGN_OR_RETURN(const Json* list, GetArray(object, key, parent, false));
  if (list == nullptr) return out;
  const std::string path = FieldPath(parent, key);
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    if (!item.is_string()) return WrongType(IndexPath(path, i), "a string", item);
    out.push_back(item.get<std::string>());
  }
  return out;
}

void MergeExtra(const Json& extra, Json* body) {
  if (!extra.is_object()) return;
  for (auto it = extra.begin(); it != extra.end(); ++it) {
    if (!body->contains(it.key())) (*body)[it.key()] = it.value();
  }
}

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(separator);
    out.append(parts[i]);
  }
  return out;
}

std::optional<ImageContent> ParseDataUrl(std::string_view url) {
  constexpr std::string_view kPrefix = "data:";
  constexpr std::string_view kBase64 = ";base64,";
  if (url.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const size_t marker = url.find(kBase64);
  if (marker == std::string_view::npos) return std::nullopt;
  ImageContent image;
  image.media_type = std::string(url.substr(kPrefix.size(), marker - kPrefix.size()));
  image.data = std::string(url.substr(marker + kBase64.size()));
  if (image.media_type.empty()) return std::nullopt;
  return image;
}

std::string DataUrl(const ImageContent& image) {
  return StrCat("data:", image.media_type, ";base64,", image.data);
}

ImageContent InlineDataUrl(ImageContent image) {
  if (image.url.empty()) return image;
  if (std::optional<ImageContent> inlined = ParseDataUrl(image.url)) return *std::move(inlined);
  return image;
}

Json ParseToolArguments(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return Json::object();
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) return parsed;
  return Json{{"_raw", std::string(text)}};
}

std::string ToolArgumentsText(const Json& input) {
  if (input.is_object() && input.size() == 1) {
    auto it = input.find("_raw");
    if (it != input.end() && it->is_string()) return it->get<std::string>();
  }
  return Dump(input);
}

std::optional<StopReason> StopReasonFromName(std::string_view name) {
  for (StopReason r : {StopReason::kEndTurn, StopReason::kMaxTokens, StopReason::kStopSequence,
                       StopReason::kToolUse, StopReason::kContentFiltered}) {
    if (StopReasonName(r) == name) return r;
  }
  return std::nullopt;
}

void BlockSequencer::OpenText(int index, std::vector<ChatDelta>* out) {
  Close(out);
  ChatDelta d;
  d.type = ChatDelta::Type::kBlockStart;
  d.index = index;
  out->push_back(std::move(d));
  open_ = index;
  open_is_tool_ = false;
}

void BlockSequencer::OpenTool(int index, const ToolUse& tool, std::vector<ChatDelta>* out) {
  Close(out);
  ChatDelta d;
  d.type = ChatDelta::Type::kBlockStart;
  d.index = index;
  d.is_tool = true;
  d.tool_use.id = tool.id;
  d.tool_use.name = tool.name;
  out->push_back(std::move(d));
  open_ = index;
  open_is_tool_ = true;
}

void BlockSequencer::Close(std::vector<ChatDelta>* out) {
  if (open_ < 0) return;
  ChatDelta d;
  d.type = ChatDelta::Type::kBlockStop;
  d.index = open_;
  out->push_back(std::move(d));
  open_ = -1;
  open_is_tool_ = false;
}

ChatDelta MessageStartDelta(std::string id, std::string model) {
  ChatDelta d;
  d.type = ChatDelta::Type::kMessageStart;
  d.id = std::move(id);
  d.model = std::move(model);
  return d;
}

ChatDelta TextDelta(int index, std::string text) {
  ChatDelta d;
  d.type = ChatDelta::Type::kTextDelta;
  d.index = index;
  d.text = std::move(text);
  return d;
}

ChatDelta ToolInputDelta(int index, std::string partial_json) {
  ChatDelta d;
  d.type = ChatDelta::Type::kToolInputDelta;
  d.index = index;
  d.partial_json = std::move(partial_json);
  return d;
}

ChatDelta MessageStopDelta(StopReason reason, std::string stop_sequence) {
  ChatDelta d;
  d.type = ChatDelta::Type::kMessageStop;
  d.stop_reason = reason;
  d.stop_sequence = std::move(stop_sequence);
  return d;
}

ChatDelta UsageDelta(Usage usage) {
  ChatDelta d;
  d.type = ChatDelta::Type::kUsage;
  d.usage = usage;
  return d;
}

namespace {

std::string_view RoleName(Role role) { return role == Role::kUser ? "user" : "assistant"; }

std::string_view BlockTypeName(ContentBlock::Type type) {
  switch (type) {
    case ContentBlock::Type::kText:
      return "text";
    case ContentBlock::Type::kImage:
      return "image";
    case ContentBlock::Type::kToolUse:
      return "tool_use";
    case ContentBlock::Type::kToolResult:
      return "tool_result";
    case ContentBlock::Type::kJson:
      return "json";
  }
  return "?";
}

std::string_view DeltaTypeName(ChatDelta::Type type) {
  switch (type) {
    case ChatDelta::Type::kMessageStart:
      return "message_start";
    case ChatDelta::Type::kBlockStart:
      return "block_start";
    case ChatDelta::Type::kTextDelta:
      return "text_delta";
    case ChatDelta::Type::kToolInputDelta:
      return "tool_input_delta";
    case ChatDelta::Type::kBlockStop:
      return "block_stop";
    case ChatDelta::Type::kMessageStop:
      return "message_stop";
    case ChatDelta::Type::kUsage:
      return "usage";
  }
  return "?";
}

Json UsageJson(const Usage& usage) {
  return {{"input_tokens", usage.input_tokens}, {"output_tokens", usage.output_tokens}};
}

Json ToolUseJson(const ToolUse& use) {
  return {{"id", use.id}, {"name", use.name}, {"input", use.input}};
}

Json BlocksJson(const std::vector<ContentBlock>& blocks) {
  Json out = Json::array();
  for (const ContentBlock& b : blocks) out.push_back(CanonicalJson(b));
  return out;
}

}  // namespace

Json CanonicalJson(const ContentBlock& block) {
  Json out = {{"type", BlockTypeName(block.type)}};
  switch (block.type) {
    case ContentBlock::Type::kText:
      out["text"] = block.text;
      break;
    case ContentBlock::Type::kJson:
      out["json"] = block.json;
      break;
    case ContentBlock::Type::kImage:
      out["media_type"] = block.image.media_type;
      out["data"] = block.image.data;
      out["url"] = block.image.url;
      break;
    case ContentBlock::Type::kToolUse:
      out["tool_use"] = ToolUseJson(block.tool_use);
      break;
    case ContentBlock::Type::kToolResult:
      out["tool_use_id"] = block.tool_result.tool_use_id;
      out["content"] = BlocksJson(block.tool_result.content);
      out["is_error"] = block.tool_result.is_error;
      break;
  }
  return out;
}

Json CanonicalJson(const ChatRequest& request) {
  Json messages = Json::array();
  for (const Message& m : request.messages) {
    messages.push_back({{"role", RoleName(m.role)}, {"content", BlocksJson(m.content)}});
  }
  Json tools = Json::array();
  for (const ToolSpec& t : request.tools) {
    tools.push_back(
        {{"name", t.name}, {"description", t.description}, {"input_schema", t.input_schema}});
  }
  Json choice = nullptr;
  if (request.tool_choice) {
    constexpr std::string_view kModes[] = {"auto", "any", "none", "tool"};
    choice = {{"mode", kModes[static_cast<int>(request.tool_choice->mode)]},
              {"name", request.tool_choice->name}};
  }
  Json out = {{"model", request.model},   {"system", request.system}, {"messages", messages},
              {"tools", tools},           {"tool_choice", choice},    {"stop", request.stop},
              {"stream", request.stream}, {"extra", request.extra}};
  out["max_tokens"] = request.max_tokens ? Json(*request.max_tokens) : Json(nullptr);
  out["temperature"] = request.temperature ? Json(*request.temperature) : Json(nullptr);
  out["top_p"] = request.top_p ? Json(*request.top_p) : Json(nullptr);
  return out;
}

Json CanonicalJson(const ChatResponse& response) {
  return {{"id", response.id},
          {"model", response.model},
          {"content", BlocksJson(response.content)},
          {"stop_reason", StopReasonName(response.stop_reason)},
          {"stop_sequence", response.stop_sequence},
          {"usage", UsageJson(response.usage)}};
}

Json CanonicalJson(const ChatDelta& delta) {
  return {{"type", DeltaTypeName(delta.type)},
          {"index", delta.index},
          {"is_tool", delta.is_tool},
          {"tool_use", ToolUseJson(delta.tool_use)},
          {"text", delta.text},
          {"partial_json", delta.partial_json},
          {"stop_reason", StopReasonName(delta.stop_reason)},
          {"stop_sequence", delta.stop_sequence},
          {"usage", UsageJson(delta.usage)},
          {"id", delta.id},
          {"model", delta.model}};
}

Json CanonicalJson(const std::vector<ChatDelta>& deltas) {
  Json out = Json::array();
  for (const ChatDelta& d : deltas) out.push_back(CanonicalJson(d));
  return out;
}

}  // namespace basalt::models::formats
