// Bedrock Converse: requests and responses. Stream events are in converse_stream.cc.
#include "models/formats/converse_format.h"

#include "core/strings.h"

namespace basalt::models::converse {
namespace {

using formats::FieldError;
using formats::FieldPath;
using formats::Find;
using formats::IndexPath;
using formats::Json;

bool IsImageFormat(std::string_view f) {
  return f == "png" || f == "jpeg" || f == "gif" || f == "webp";
}

absl::StatusOr<ImageContent> ParseImage(const Json& image, std::string_view path) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(image, path));
  FORMATS_ASSIGN_OR_RETURN(std::string format, formats::GetString(image, "format", path));
  if (!IsImageFormat(format)) {
    return FieldError(FieldPath(path, "format"),
                      StrCat("unknown image format '", format, "' (png, jpeg, gif, webp)"));
  }
  ImageContent out;
  out.media_type = StrCat("image/", format);
  FORMATS_ASSIGN_OR_RETURN(const Json* source, formats::GetObject(image, "source", path, true));
  const std::string source_path = FieldPath(path, "source");
  if (Find(*source, "bytes") != nullptr) {
    FORMATS_ASSIGN_OR_RETURN(out.data, formats::GetString(*source, "bytes", source_path));
  } else if (Find(*source, "s3Location") != nullptr) {
    FORMATS_ASSIGN_OR_RETURN(const Json* s3,
                             formats::GetObject(*source, "s3Location", source_path, true));
    FORMATS_ASSIGN_OR_RETURN(out.url,
                             formats::GetString(*s3, "uri", FieldPath(source_path, "s3Location")));
  } else {
    return FieldError(source_path, "must hold bytes or s3Location");
  }
  return out;
}

// The union member a block uses: the first key it has among `members`.
std::string UnionMember(const Json& block, std::initializer_list<std::string_view> members) {
  for (std::string_view m : members) {
    if (Find(block, m) != nullptr) return std::string(m);
  }
  return block.empty() ? std::string() : block.begin().key();
}

absl::StatusOr<std::vector<ContentBlock>> ParseToolResultContent(const Json& content,
                                                                 std::string_view path) {
  if (!content.is_array()) return FieldError(path, "must be an array");
  std::vector<ContentBlock> blocks;
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string item_path = IndexPath(path, i);
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(content[i], item_path));
    const std::string member = UnionMember(content[i], {"text", "json", "image"});
    ContentBlock block;
    if (member == "text") {
      FORMATS_ASSIGN_OR_RETURN(block.text, formats::GetString(content[i], "text", item_path));
    } else if (member == "json") {
      block.type = ContentBlock::Type::kJson;
      block.json = content[i]["json"];
    } else if (member == "image") {
      block.type = ContentBlock::Type::kImage;
      FORMATS_ASSIGN_OR_RETURN(block.image,
                               ParseImage(content[i]["image"], FieldPath(item_path, "image")));
    } else {
      return FieldError(item_path, StrCat("unknown tool result block type '", member, "'"));
    }
    blocks.push_back(std::move(block));
  }
  return blocks;
}

// nullopt for blocks that are skipped (cachePoint).
absl::StatusOr<std::optional<ContentBlock>> ParseBlock(const Json& block, std::string_view path) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(block, path));
  const std::string member =
      UnionMember(block, {"text", "image", "toolUse", "toolResult", "cachePoint"});
  ContentBlock out;
  if (member == "text") {
    FORMATS_ASSIGN_OR_RETURN(out.text, formats::GetString(block, "text", path));
  } else if (member == "image") {
    out.type = ContentBlock::Type::kImage;
    FORMATS_ASSIGN_OR_RETURN(out.image, ParseImage(block["image"], FieldPath(path, "image")));
  } else if (member == "toolUse") {
    const std::string use_path = FieldPath(path, "toolUse");
    const Json& use = block["toolUse"];
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(use, use_path));
    out.type = ContentBlock::Type::kToolUse;
    FORMATS_ASSIGN_OR_RETURN(out.tool_use.id, formats::GetString(use, "toolUseId", use_path));
    FORMATS_ASSIGN_OR_RETURN(out.tool_use.name, formats::GetString(use, "name", use_path));
    FORMATS_ASSIGN_OR_RETURN(const Json* input, formats::GetObject(use, "input", use_path, true));
    out.tool_use.input = *input;
  } else if (member == "toolResult") {
    const std::string result_path = FieldPath(path, "toolResult");
    const Json& result = block["toolResult"];
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(result, result_path));
    out.type = ContentBlock::Type::kToolResult;
    FORMATS_ASSIGN_OR_RETURN(out.tool_result.tool_use_id,
                             formats::GetString(result, "toolUseId", result_path));
    const Json* content = Find(result, "content");
    if (content == nullptr) return FieldError(FieldPath(result_path, "content"), "is required");
    FORMATS_ASSIGN_OR_RETURN(out.tool_result.content,
                             ParseToolResultContent(*content, FieldPath(result_path, "content")));
    FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> status,
                             formats::GetOptionalString(result, "status", result_path));
    if (status && *status != "success" && *status != "error") {
      return FieldError(FieldPath(result_path, "status"),
                        StrCat("unknown value '", *status, "' (success, error)"));
    }
    out.tool_result.is_error = status == "error";
  } else if (member == "cachePoint") {
    return std::optional<ContentBlock>();
  } else if (member.empty()) {
    return FieldError(path, "empty content block");
  } else {
    return FieldError(path, StrCat("unknown block type '", member, "'"));
  }
  return std::optional<ContentBlock>(std::move(out));
}

absl::StatusOr<std::vector<ContentBlock>> ParseBlocks(const Json& parent, std::string_view path) {
  FORMATS_ASSIGN_OR_RETURN(const Json* content, formats::GetArray(parent, "content", path, true));
  std::vector<ContentBlock> blocks;
  for (size_t i = 0; i < content->size(); ++i) {
    FORMATS_ASSIGN_OR_RETURN(std::optional<ContentBlock> block,
                             ParseBlock((*content)[i], IndexPath(FieldPath(path, "content"), i)));
    if (block) blocks.push_back(*std::move(block));
  }
  return blocks;
}

absl::Status ParseSystem(const Json& system, ChatRequest* request) {
  if (!system.is_array()) return FieldError("system", "must be an array of {text} blocks");
  std::vector<std::string> parts;
  for (size_t i = 0; i < system.size(); ++i) {
    const std::string path = IndexPath("system", i);
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(system[i], path));
    const std::string member = UnionMember(system[i], {"text", "cachePoint"});
    if (member == "cachePoint") continue;
    if (member != "text") {
      return FieldError(path, StrCat("system block type '", member, "' is not supported"));
    }
    FORMATS_ASSIGN_OR_RETURN(std::string text, formats::GetString(system[i], "text", path));
    parts.push_back(std::move(text));
  }
  request->system = formats::Join(parts, "\n\n");
  return absl::OkStatus();
}

absl::Status ParseInferenceConfig(const Json& config, ChatRequest* request) {
  constexpr std::string_view kPath = "inferenceConfig";
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(config, kPath));
  FORMATS_ASSIGN_OR_RETURN(request->max_tokens,
                           formats::GetOptionalInt(config, "maxTokens", kPath, 1));
  FORMATS_ASSIGN_OR_RETURN(request->temperature,
                           formats::GetOptionalNumber(config, "temperature", kPath, 0.0, 1.0));
  FORMATS_ASSIGN_OR_RETURN(request->top_p,
                           formats::GetOptionalNumber(config, "topP", kPath, 0.0, 1.0));
  FORMATS_ASSIGN_OR_RETURN(request->stop, formats::GetStringList(config, "stopSequences", kPath));
  return absl::OkStatus();
}

absl::Status ParseToolConfig(const Json& config, ChatRequest* request) {
  constexpr std::string_view kPath = "toolConfig";
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(config, kPath));
  FORMATS_ASSIGN_OR_RETURN(const Json* tools, formats::GetArray(config, "tools", kPath, true));
  for (size_t i = 0; i < tools->size(); ++i) {
    const std::string path = IndexPath("toolConfig.tools", i);
    const Json& tool = (*tools)[i];
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(tool, path));
    const std::string member = UnionMember(tool, {"toolSpec", "cachePoint"});
    if (member == "cachePoint") continue;
    if (member != "toolSpec") {
      return FieldError(path, StrCat("tool type '", member, "' is not supported (only toolSpec)"));
    }
    const std::string spec_path = FieldPath(path, "toolSpec");
    FORMATS_ASSIGN_OR_RETURN(const Json* spec_json,
                             formats::GetObject(tool, "toolSpec", path, true));
    ToolSpec spec;
    FORMATS_ASSIGN_OR_RETURN(spec.name, formats::GetString(*spec_json, "name", spec_path));
    if (spec.name.empty()) return FieldError(FieldPath(spec_path, "name"), "must not be empty");
    FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> description,
                             formats::GetOptionalString(*spec_json, "description", spec_path));
    spec.description = description.value_or("");
    FORMATS_ASSIGN_OR_RETURN(const Json* schema,
                             formats::GetObject(*spec_json, "inputSchema", spec_path, true));
    FORMATS_ASSIGN_OR_RETURN(
        const Json* json,
        formats::GetObject(*schema, "json", FieldPath(spec_path, "inputSchema"), true));
    spec.input_schema = *json;
    request->tools.push_back(std::move(spec));
  }
  if (const Json* choice = Find(config, "toolChoice")) {
    const std::string path = "toolConfig.toolChoice";
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(*choice, path));
    const std::string member = UnionMember(*choice, {"auto", "any", "tool"});
    ToolChoice out;
    if (member == "any") {
      out.mode = ToolChoice::Mode::kAny;
    } else if (member == "tool") {
      out.mode = ToolChoice::Mode::kTool;
      FORMATS_ASSIGN_OR_RETURN(const Json* tool, formats::GetObject(*choice, "tool", path, true));
      FORMATS_ASSIGN_OR_RETURN(out.name,
                               formats::GetString(*tool, "name", FieldPath(path, "tool")));
    } else if (member != "auto") {
      return FieldError(path, StrCat("unknown tool choice '", member, "' (auto, any, tool)"));
    }
    request->tool_choice = out;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ChatRequest> ParseChatRequest(const Json& body) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(body, "body"));
  ChatRequest request;
  FORMATS_ASSIGN_OR_RETURN(const Json* messages, formats::GetArray(body, "messages", "", true));
  for (size_t i = 0; i < messages->size(); ++i) {
    const std::string path = IndexPath("messages", i);
    const Json& message = (*messages)[i];
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(message, path));
    FORMATS_ASSIGN_OR_RETURN(std::string role, formats::GetString(message, "role", path));
    if (role != "user" && role != "assistant") {
      return FieldError(FieldPath(path, "role"),
                        StrCat("unknown role '", role, "' (user, assistant)"));
    }
    Message turn{role == "user" ? Role::kUser : Role::kAssistant, {}};
    FORMATS_ASSIGN_OR_RETURN(turn.content, ParseBlocks(message, path));
    request.messages.push_back(std::move(turn));
  }
  if (const Json* system = Find(body, "system"))
    FORMATS_RETURN_IF_ERROR(ParseSystem(*system, &request));
  if (const Json* config = Find(body, "inferenceConfig")) {
    FORMATS_RETURN_IF_ERROR(ParseInferenceConfig(*config, &request));
  }
  if (const Json* config = Find(body, "toolConfig")) {
    FORMATS_RETURN_IF_ERROR(ParseToolConfig(*config, &request));
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    // modelId belongs to the URL; a copy in the body is ignored.
    if (k == "messages" || k == "system" || k == "inferenceConfig" || k == "toolConfig" ||
        k == "modelId") {
      continue;
    }
    request.extra[k] = it.value();
  }
  return request;
}

namespace {

// "png" for "image/png"; from the URL's extension when the media type is unknown.
std::string ImageFormat(const ImageContent& image) {
  std::string_view type = image.media_type;
  if (type.substr(0, 6) == "image/") type.remove_prefix(6);
  if (type == "jpg") return "jpeg";
  if (IsImageFormat(type)) return std::string(type);
  std::string_view url = image.url;
  const size_t dot = url.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? "" : url.substr(dot + 1);
  if (ext == "jpg") return "jpeg";
  if (IsImageFormat(ext)) return std::string(ext);
  return "png";
}

bool IsS3(std::string_view url) { return url.substr(0, 5) == "s3://"; }

Json RenderImage(const ImageContent& original) {
  const ImageContent image = formats::InlineDataUrl(original);
  if (image.url.empty()) {
    return {{"image", {{"format", ImageFormat(image)}, {"source", {{"bytes", image.data}}}}}};
  }
  if (IsS3(image.url)) {
    return {{"image",
             {{"format", ImageFormat(image)}, {"source", {{"s3Location", {{"uri", image.url}}}}}}}};
  }
  // Converse takes no image URLs (CheckRenderable reports this); keep a trace.
  return {{"text", StrCat("[image: ", image.url, "]")}};
}

Json RenderBlock(const ContentBlock& block, bool in_tool_result) {
  switch (block.type) {
    case ContentBlock::Type::kText:
      return {{"text", block.text}};
    case ContentBlock::Type::kJson:
      if (in_tool_result) return {{"json", block.json}};
      return {{"text", formats::Dump(block.json)}};
    case ContentBlock::Type::kImage:
      return RenderImage(block.image);
    case ContentBlock::Type::kToolUse:
      return {{"toolUse",
               {{"toolUseId", block.tool_use.id},
                {"name", block.tool_use.name},
                {"input", block.tool_use.input}}}};
    case ContentBlock::Type::kToolResult: {
      Json content = Json::array();
      for (const ContentBlock& inner : block.tool_result.content) {
        content.push_back(RenderBlock(inner, true));
      }
      Json result = {{"toolUseId", block.tool_result.tool_use_id}, {"content", std::move(content)}};
      // Only sent when set: several Bedrock models reject the status field.
      if (block.tool_result.is_error) result["status"] = "error";
      return {{"toolResult", std::move(result)}};
    }
  }
  return Json::object();
}

Json RenderBlocks(const std::vector<ContentBlock>& blocks) {
  Json out = Json::array();
  for (const ContentBlock& b : blocks) out.push_back(RenderBlock(b, false));
  return out;
}

bool HasToolBlocks(const ChatRequest& request) {
  for (const Message& m : request.messages) {
    for (const ContentBlock& b : m.content) {
      if (b.type == ContentBlock::Type::kToolUse || b.type == ContentBlock::Type::kToolResult) {
        return true;
      }
    }
  }
  return false;
}

Json RenderToolConfig(const ChatRequest& request) {
  Json tools = Json::array();
  for (const ToolSpec& t : request.tools) {
    Json spec = {{"name", t.name}, {"inputSchema", {{"json", t.input_schema}}}};
    if (!t.description.empty()) spec["description"] = t.description;
    tools.push_back({{"toolSpec", std::move(spec)}});
  }
  Json config = {{"tools", std::move(tools)}};
  if (request.tool_choice) {
    switch (request.tool_choice->mode) {
      case ToolChoice::Mode::kAuto:
        config["toolChoice"] = {{"auto", Json::object()}};
        break;
      case ToolChoice::Mode::kAny:
        config["toolChoice"] = {{"any", Json::object()}};
        break;
      case ToolChoice::Mode::kTool:
        config["toolChoice"] = {{"tool", {{"name", request.tool_choice->name}}}};
        break;
      case ToolChoice::Mode::kNone:
        break;  // no "none" in Converse: auto
    }
  }
  return config;
}

absl::StatusOr<ChatResponse> ParseResponse(const Json& body) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(body, "body"));
  ChatResponse response;
  FORMATS_ASSIGN_OR_RETURN(const Json* output, formats::GetObject(body, "output", "", true));
  FORMATS_ASSIGN_OR_RETURN(const Json* message,
                           formats::GetObject(*output, "message", "output", true));
  FORMATS_ASSIGN_OR_RETURN(const Json* content,
                           formats::GetArray(*message, "content", "output.message", true));
  for (size_t i = 0; i < content->size(); ++i) {
    const Json& block = (*content)[i];
    // reasoningContent, citationsContent, ...: no canonical form; skipped.
    if (Find(block, "text") == nullptr && Find(block, "toolUse") == nullptr) continue;
    FORMATS_ASSIGN_OR_RETURN(std::optional<ContentBlock> parsed,
                             ParseBlock(block, IndexPath("output.message.content", i)));
    if (parsed) response.content.push_back(*std::move(parsed));
  }
  FORMATS_ASSIGN_OR_RETURN(std::string stop, formats::GetString(body, "stopReason", ""));
  response.stop_reason = StopReasonFromWire(stop);
  if (const Json* fields = Find(body, "additionalModelResponseFields")) {
    if (const Json* seq = Find(*fields, "stop_sequence"); seq != nullptr && seq->is_string()) {
      response.stop_sequence = seq->get<std::string>();
    }
  }
  if (const Json* usage = Find(body, "usage")) {
    FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> in,
                             formats::GetOptionalInt(*usage, "inputTokens", "usage", 0));
    FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> out,
                             formats::GetOptionalInt(*usage, "outputTokens", "usage", 0));
    response.usage = {in.value_or(0), out.value_or(0)};
  }
  return response;
}

}  // namespace

Json RenderChatRequest(const ChatRequest& request) {
  Json body = Json::object();
  Json messages = Json::array();
  for (const Message& turn : request.messages) {
    messages.push_back({{"role", turn.role == Role::kUser ? "user" : "assistant"},
                        {"content", RenderBlocks(turn.content)}});
  }
  body["messages"] = std::move(messages);
  if (!request.system.empty()) body["system"] = Json::array({{{"text", request.system}}});
  Json config = Json::object();
  if (request.max_tokens) config["maxTokens"] = *request.max_tokens;
  if (request.temperature) config["temperature"] = *request.temperature;
  if (request.top_p) config["topP"] = *request.top_p;
  if (!request.stop.empty()) config["stopSequences"] = request.stop;
  if (!config.empty()) body["inferenceConfig"] = std::move(config);
  const bool none = request.tool_choice && request.tool_choice->mode == ToolChoice::Mode::kNone;
  // "none" has no Converse form: leaving the tools out is the faithful way to
  // forbid calls, unless earlier turns hold tool blocks (they need toolConfig).
  if (!request.tools.empty() && !(none && !HasToolBlocks(request))) {
    body["toolConfig"] = RenderToolConfig(request);
  }
  formats::MergeExtra(request.extra, &body);
  return body;
}

absl::Status CheckRenderable(const ChatRequest& request) {
  for (size_t i = 0; i < request.messages.size(); ++i) {
    const std::vector<ContentBlock>& blocks = request.messages[i].content;
    for (size_t j = 0; j < blocks.size(); ++j) {
      std::vector<const ContentBlock*> images = {&blocks[j]};
      for (const ContentBlock& inner : blocks[j].tool_result.content) images.push_back(&inner);
      for (const ContentBlock* b : images) {
        if (b->type != ContentBlock::Type::kImage) continue;
        const ImageContent image = formats::InlineDataUrl(b->image);
        if (!image.url.empty() && !IsS3(image.url)) {
          return FieldError(StrCat("messages[", i, "].content[", j, "].image"),
                            "Bedrock Converse cannot fetch images by URL; send the image bytes");
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ChatResponse> ParseChatResponse(const Json& body) {
  absl::StatusOr<ChatResponse> response = ParseResponse(body);
  if (!response.ok()) return formats::UpstreamError(response.status());
  return response;
}

Json RenderChatResponse(const ChatResponse& response, int64_t latency_ms) {
  const Usage& u = response.usage;
  Json body = {
      {"output",
       {{"message", {{"role", "assistant"}, {"content", RenderBlocks(response.content)}}}}},
      {"stopReason", StopReasonWireName(response.stop_reason)},
      {"usage",
       {{"inputTokens", u.input_tokens},
        {"outputTokens", u.output_tokens},
        {"totalTokens", u.input_tokens + u.output_tokens}}},
      {"metrics", {{"latencyMs", latency_ms}}}};
  if (!response.stop_sequence.empty()) {
    body["additionalModelResponseFields"] = {{"stop_sequence", response.stop_sequence}};
  }
  return body;
}

std::string_view StopReasonWireName(StopReason reason) { return StopReasonName(reason); }

StopReason StopReasonFromWire(std::string_view name) {
  if (name == "guardrail_intervened") return StopReason::kContentFiltered;
  if (name == "model_context_window_exceeded") return StopReason::kMaxTokens;
  return formats::StopReasonFromName(name).value_or(StopReason::kEndTurn);
}

}  // namespace basalt::models::converse
