// Anthropic Messages: requests and responses. Stream events are in
// anthropic_stream.cc.
#include "models/formats/anthropic_format.h"

#include "core/strings.h"
#include "models/formats/format_util.h"

namespace basalt::models::anthropic {
namespace {

using formats::FieldError;
using formats::FieldPath;
using formats::Find;
using formats::IndexPath;
using formats::Json;

absl::StatusOr<ImageContent> ParseImage(const Json& block, std::string_view path) {
  FORMATS_ASSIGN_OR_RETURN(const Json* source, formats::GetObject(block, "source", path, true));
  const std::string source_path = FieldPath(path, "source");
  FORMATS_ASSIGN_OR_RETURN(std::string type, formats::GetString(*source, "type", source_path));
  ImageContent image;
  if (type == "base64") {
    FORMATS_ASSIGN_OR_RETURN(image.media_type,
                             formats::GetString(*source, "media_type", source_path));
    FORMATS_ASSIGN_OR_RETURN(image.data, formats::GetString(*source, "data", source_path));
  } else if (type == "url") {
    FORMATS_ASSIGN_OR_RETURN(image.url, formats::GetString(*source, "url", source_path));
    image = formats::InlineDataUrl(std::move(image));
  } else {
    return FieldError(FieldPath(source_path, "type"),
                      StrCat("unknown image source type '", type, "' (base64, url)"));
  }
  return image;
}

absl::StatusOr<std::vector<ContentBlock>> ParseBlocks(const Json& content, std::string_view path,
                                                      bool in_tool_result);

absl::StatusOr<ContentBlock> ParseBlock(const Json& block, std::string_view path,
                                        bool in_tool_result) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(block, path));
  FORMATS_ASSIGN_OR_RETURN(std::string type, formats::GetString(block, "type", path));
  ContentBlock out;
  if (type == "text") {
    FORMATS_ASSIGN_OR_RETURN(out.text, formats::GetString(block, "text", path));
  } else if (type == "image") {
    out.type = ContentBlock::Type::kImage;
    FORMATS_ASSIGN_OR_RETURN(out.image, ParseImage(block, path));
  } else if (type == "tool_use" && !in_tool_result) {
    out.type = ContentBlock::Type::kToolUse;
    FORMATS_ASSIGN_OR_RETURN(out.tool_use.id, formats::GetString(block, "id", path));
    FORMATS_ASSIGN_OR_RETURN(out.tool_use.name, formats::GetString(block, "name", path));
    FORMATS_ASSIGN_OR_RETURN(const Json* input, formats::GetObject(block, "input", path, true));
    out.tool_use.input = *input;
  } else if (type == "tool_result" && !in_tool_result) {
    out.type = ContentBlock::Type::kToolResult;
    FORMATS_ASSIGN_OR_RETURN(out.tool_result.tool_use_id,
                             formats::GetString(block, "tool_use_id", path));
    if (const Json* content = Find(block, "content")) {
      FORMATS_ASSIGN_OR_RETURN(out.tool_result.content,
                               ParseBlocks(*content, FieldPath(path, "content"), true));
    }
    FORMATS_ASSIGN_OR_RETURN(std::optional<bool> is_error,
                             formats::GetOptionalBool(block, "is_error", path));
    out.tool_result.is_error = is_error.value_or(false);
  } else if (in_tool_result && (type == "tool_use" || type == "tool_result")) {
    return FieldError(FieldPath(path, "type"),
                      StrCat("block type '", type, "' is not allowed inside a tool_result"));
  } else {
    return FieldError(FieldPath(path, "type"), StrCat("unknown block type '", type, "'"));
  }
  return out;
}

// A string (one text block; "" is no blocks inside a tool_result) or an array of blocks.
absl::StatusOr<std::vector<ContentBlock>> ParseBlocks(const Json& content, std::string_view path,
                                                      bool in_tool_result) {
  std::vector<ContentBlock> blocks;
  if (content.is_string()) {
    if (!(in_tool_result && content.get_ref<const std::string&>().empty())) {
      blocks.push_back(ContentBlock::Text(content.get<std::string>()));
    }
    return blocks;
  }
  if (!content.is_array()) {
    return FieldError(
        path, StrCat("must be a string or an array of blocks, got ", formats::TypeName(content)));
  }
  for (size_t i = 0; i < content.size(); ++i) {
    FORMATS_ASSIGN_OR_RETURN(ContentBlock block,
                             ParseBlock(content[i], IndexPath(path, i), in_tool_result));
    blocks.push_back(std::move(block));
  }
  return blocks;
}

absl::StatusOr<std::string> ParseSystem(const Json& system) {
  if (system.is_string()) return system.get<std::string>();
  if (!system.is_array()) {
    return FieldError("system", StrCat("must be a string or an array of text blocks, got ",
                                       formats::TypeName(system)));
  }
  std::vector<std::string> parts;
  for (size_t i = 0; i < system.size(); ++i) {
    const std::string path = IndexPath("system", i);
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(system[i], path));
    FORMATS_ASSIGN_OR_RETURN(std::string type, formats::GetString(system[i], "type", path));
    if (type != "text") {
      return FieldError(FieldPath(path, "type"),
                        StrCat("system block type '", type, "' is not supported (only 'text')"));
    }
    FORMATS_ASSIGN_OR_RETURN(std::string text, formats::GetString(system[i], "text", path));
    parts.push_back(std::move(text));
  }
  return formats::Join(parts, "\n\n");
}

absl::StatusOr<ToolSpec> ParseTool(const Json& tool, std::string_view path) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(tool, path));
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> type,
                           formats::GetOptionalString(tool, "type", path));
  if (type && *type != "custom") {
    return FieldError(FieldPath(path, "type"),
                      StrCat("tool type '", *type, "' is not supported (only custom tools)"));
  }
  ToolSpec spec;
  FORMATS_ASSIGN_OR_RETURN(spec.name, formats::GetString(tool, "name", path));
  if (spec.name.empty()) return FieldError(FieldPath(path, "name"), "must not be empty");
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> description,
                           formats::GetOptionalString(tool, "description", path));
  spec.description = description.value_or("");
  FORMATS_ASSIGN_OR_RETURN(const Json* schema,
                           formats::GetObject(tool, "input_schema", path, true));
  spec.input_schema = *schema;
  return spec;
}

absl::StatusOr<ToolChoice> ParseToolChoice(const Json& choice) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(choice, "tool_choice"));
  FORMATS_ASSIGN_OR_RETURN(std::string type, formats::GetString(choice, "type", "tool_choice"));
  ToolChoice out;
  if (type == "auto") return out;
  if (type == "any") {
    out.mode = ToolChoice::Mode::kAny;
  } else if (type == "none") {
    out.mode = ToolChoice::Mode::kNone;
  } else if (type == "tool") {
    out.mode = ToolChoice::Mode::kTool;
    FORMATS_ASSIGN_OR_RETURN(out.name, formats::GetString(choice, "name", "tool_choice"));
  } else {
    return FieldError("tool_choice.type",
                      StrCat("unknown value '", type, "' (auto, any, tool, none)"));
  }
  return out;
}

absl::Status ParseMessages(const Json& messages, ChatRequest* request) {
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string path = IndexPath("messages", i);
    const Json& message = messages[i];
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(message, path));
    FORMATS_ASSIGN_OR_RETURN(std::string role, formats::GetString(message, "role", path));
    Message turn;
    if (role == "assistant") {
      turn.role = Role::kAssistant;
    } else if (role != "user") {
      return FieldError(FieldPath(path, "role"),
                        StrCat("unknown role '", role, "' (user, assistant)"));
    }
    const Json* content = Find(message, "content");
    if (content == nullptr) return FieldError(FieldPath(path, "content"), "is required");
    FORMATS_ASSIGN_OR_RETURN(turn.content,
                             ParseBlocks(*content, FieldPath(path, "content"), false));
    request->messages.push_back(std::move(turn));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ChatRequest> ParseChatRequest(const Json& body, const ParseOptions& options) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(body, "body"));
  ChatRequest request;
  if (options.require_model || Find(body, "model") != nullptr) {
    FORMATS_ASSIGN_OR_RETURN(request.model, formats::GetString(body, "model", ""));
  }
  FORMATS_ASSIGN_OR_RETURN(const Json* messages, formats::GetArray(body, "messages", "", true));
  FORMATS_RETURN_IF_ERROR(ParseMessages(*messages, &request));
  if (const Json* system = Find(body, "system")) {
    FORMATS_ASSIGN_OR_RETURN(request.system, ParseSystem(*system));
  }
  FORMATS_ASSIGN_OR_RETURN(request.max_tokens, formats::GetOptionalInt(body, "max_tokens", "", 1));
  if (!request.max_tokens) return FieldError("max_tokens", "is required");
  FORMATS_ASSIGN_OR_RETURN(request.temperature,
                           formats::GetOptionalNumber(body, "temperature", "", 0.0, 1.0));
  FORMATS_ASSIGN_OR_RETURN(request.top_p, formats::GetOptionalNumber(body, "top_p", "", 0.0, 1.0));
  FORMATS_ASSIGN_OR_RETURN(request.stop, formats::GetStringList(body, "stop_sequences", ""));
  FORMATS_ASSIGN_OR_RETURN(std::optional<bool> stream,
                           formats::GetOptionalBool(body, "stream", ""));
  request.stream = stream.value_or(false);
  FORMATS_ASSIGN_OR_RETURN(const Json* tools, formats::GetArray(body, "tools", "", false));
  for (size_t i = 0; tools != nullptr && i < tools->size(); ++i) {
    FORMATS_ASSIGN_OR_RETURN(ToolSpec spec, ParseTool((*tools)[i], IndexPath("tools", i)));
    request.tools.push_back(std::move(spec));
  }
  if (const Json* choice = Find(body, "tool_choice")) {
    FORMATS_ASSIGN_OR_RETURN(request.tool_choice, ParseToolChoice(*choice));
  }
  static const char* const kKnown[] = {"model",       "messages",   "system",         "max_tokens",
                                       "temperature", "top_p",      "stop_sequences", "stream",
                                       "tools",       "tool_choice"};
  for (auto it = body.begin(); it != body.end(); ++it) {
    bool known = false;
    for (const char* k : kKnown) known = known || it.key() == k;
    if (!known) request.extra[it.key()] = it.value();
  }
  return request;
}

namespace {

Json RenderBlock(const ContentBlock& block) {
  switch (block.type) {
    case ContentBlock::Type::kText:
      return {{"type", "text"}, {"text", block.text}};
    case ContentBlock::Type::kJson:
      return {{"type", "text"}, {"text", formats::Dump(block.json)}};
    case ContentBlock::Type::kImage: {
      const ImageContent image = formats::InlineDataUrl(block.image);
      Json source =
          image.url.empty()
              ? Json{{"type", "base64"}, {"media_type", image.media_type}, {"data", image.data}}
              : Json{{"type", "url"}, {"url", image.url}};
      return {{"type", "image"}, {"source", std::move(source)}};
    }
    case ContentBlock::Type::kToolUse:
      return {{"type", "tool_use"},
              {"id", block.tool_use.id},
              {"name", block.tool_use.name},
              {"input", block.tool_use.input}};
    case ContentBlock::Type::kToolResult: {
      Json out = {{"type", "tool_result"}, {"tool_use_id", block.tool_result.tool_use_id}};
      if (!block.tool_result.content.empty()) {
        Json content = Json::array();
        for (const ContentBlock& inner : block.tool_result.content) {
          content.push_back(RenderBlock(inner));
        }
        out["content"] = std::move(content);
      }
      if (block.tool_result.is_error) out["is_error"] = true;
      return out;
    }
  }
  return Json::object();
}

Json RenderBlocks(const std::vector<ContentBlock>& blocks) {
  Json out = Json::array();
  for (const ContentBlock& b : blocks) out.push_back(RenderBlock(b));
  return out;
}

Json RenderToolChoice(const ToolChoice& choice) {
  switch (choice.mode) {
    case ToolChoice::Mode::kAuto:
      return {{"type", "auto"}};
    case ToolChoice::Mode::kAny:
      return {{"type", "any"}};
    case ToolChoice::Mode::kNone:
      return {{"type", "none"}};
    case ToolChoice::Mode::kTool:
      return {{"type", "tool"}, {"name", choice.name}};
  }
  return {{"type", "auto"}};
}

absl::StatusOr<ChatResponse> ParseResponse(const Json& body) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(body, "body"));
  ChatResponse response;
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> id,
                           formats::GetOptionalString(body, "id", ""));
  response.id = id.value_or("");
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> model,
                           formats::GetOptionalString(body, "model", ""));
  response.model = model.value_or("");
  FORMATS_ASSIGN_OR_RETURN(const Json* content, formats::GetArray(body, "content", "", true));
  for (size_t i = 0; i < content->size(); ++i) {
    const Json& block = (*content)[i];
    const Json* type = Find(block, "type");
    // Thinking and server-tool blocks have no canonical form; skip them.
    if (type == nullptr || !type->is_string() || (*type != "text" && *type != "tool_use")) continue;
    FORMATS_ASSIGN_OR_RETURN(ContentBlock parsed,
                             ParseBlock(block, IndexPath("content", i), false));
    response.content.push_back(std::move(parsed));
  }
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> stop,
                           formats::GetOptionalString(body, "stop_reason", ""));
  const std::string reason = stop.value_or("end_turn");
  if (reason == "refusal") {
    response.stop_reason = StopReason::kContentFiltered;
  } else {
    response.stop_reason = formats::StopReasonFromName(reason).value_or(StopReason::kEndTurn);
  }
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> sequence,
                           formats::GetOptionalString(body, "stop_sequence", ""));
  response.stop_sequence = sequence.value_or("");
  if (const Json* usage = Find(body, "usage")) {
    FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> in,
                             formats::GetOptionalInt(*usage, "input_tokens", "usage", 0));
    FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> out,
                             formats::GetOptionalInt(*usage, "output_tokens", "usage", 0));
    response.usage = {in.value_or(0), out.value_or(0)};
  }
  return response;
}

}  // namespace

Json RenderChatRequest(const ChatRequest& request) {
  Json body = Json::object();
  if (!request.model.empty()) body["model"] = request.model;
  body["max_tokens"] = request.max_tokens.value_or(kDefaultMaxTokens);
  Json messages = Json::array();
  for (const Message& turn : request.messages) {
    messages.push_back({{"role", turn.role == Role::kUser ? "user" : "assistant"},
                        {"content", RenderBlocks(turn.content)}});
  }
  body["messages"] = std::move(messages);
  if (!request.system.empty()) body["system"] = request.system;
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (!request.stop.empty()) body["stop_sequences"] = request.stop;
  if (request.stream) body["stream"] = true;
  if (!request.tools.empty()) {
    Json tools = Json::array();
    for (const ToolSpec& t : request.tools) {
      Json tool = {{"name", t.name}, {"input_schema", t.input_schema}};
      if (!t.description.empty()) tool["description"] = t.description;
      tools.push_back(std::move(tool));
    }
    body["tools"] = std::move(tools);
  }
  if (request.tool_choice) body["tool_choice"] = RenderToolChoice(*request.tool_choice);
  formats::MergeExtra(request.extra, &body);
  return body;
}

absl::StatusOr<ChatResponse> ParseChatResponse(const Json& body) {
  absl::StatusOr<ChatResponse> response = ParseResponse(body);
  if (!response.ok()) return formats::UpstreamError(response.status());
  return response;
}

std::string_view StopReasonWireName(StopReason reason) {
  return reason == StopReason::kContentFiltered ? "refusal" : StopReasonName(reason);
}

Json RenderChatResponse(const ChatResponse& response) {
  return {{"id", response.id},
          {"type", "message"},
          {"role", "assistant"},
          {"model", response.model},
          {"content", RenderBlocks(response.content)},
          {"stop_reason", StopReasonWireName(response.stop_reason)},
          {"stop_sequence",
           response.stop_sequence.empty() ? Json(nullptr) : Json(response.stop_sequence)},
          {"usage",
           {{"input_tokens", response.usage.input_tokens},
            {"output_tokens", response.usage.output_tokens}}}};
}

}  // namespace basalt::models::anthropic
