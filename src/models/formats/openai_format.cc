// OpenAI chat completions: requests and responses. Streaming chunks are in
// openai_stream.cc, embeddings and the model list in openai_embeddings.cc.
#include "models/formats/openai_format.h"

#include "core/strings.h"
#include "models/formats/format_util.h"

namespace basalt::models::openai {
namespace {

using formats::FieldError;
using formats::FieldPath;
using formats::Find;
using formats::IndexPath;
using formats::Json;

// Text-only content (system, developer, tool and assistant messages): a string,
// or an array of {type:"text"} parts ({type:"refusal"} too when allowed).
absl::StatusOr<std::vector<std::string>> ParseTextParts(const Json& content, std::string_view path,
                                                        bool allow_refusal) {
  if (content.is_string()) return std::vector<std::string>{content.get<std::string>()};
  if (!content.is_array()) {
    return FieldError(path, StrCat("must be a string or an array of content parts, got ",
                                   formats::TypeName(content)));
  }
  std::vector<std::string> texts;
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string part_path = IndexPath(path, i);
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(content[i], part_path));
    FORMATS_ASSIGN_OR_RETURN(std::string type, formats::GetString(content[i], "type", part_path));
    if (type == "text" || (allow_refusal && type == "refusal")) {
      FORMATS_ASSIGN_OR_RETURN(std::string text, formats::GetString(content[i], type, part_path));
      texts.push_back(std::move(text));
    } else {
      return FieldError(FieldPath(part_path, "type"),
                        StrCat("content part type '", type, "' is not allowed here (text only)"));
    }
  }
  return texts;
}

absl::StatusOr<std::vector<ContentBlock>> ParseUserContent(const Json& content,
                                                           std::string_view path) {
  if (content.is_string()) {
    return std::vector<ContentBlock>{ContentBlock::Text(content.get<std::string>())};
  }
  if (!content.is_array()) {
    return FieldError(path, StrCat("must be a string or an array of content parts, got ",
                                   formats::TypeName(content)));
  }
  std::vector<ContentBlock> blocks;
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string part_path = IndexPath(path, i);
    const Json& part = content[i];
    FORMATS_RETURN_IF_ERROR(formats::ExpectObject(part, part_path));
    FORMATS_ASSIGN_OR_RETURN(std::string type, formats::GetString(part, "type", part_path));
    if (type == "text") {
      FORMATS_ASSIGN_OR_RETURN(std::string text, formats::GetString(part, "text", part_path));
      blocks.push_back(ContentBlock::Text(std::move(text)));
    } else if (type == "image_url") {
      FORMATS_ASSIGN_OR_RETURN(const Json* image,
                               formats::GetObject(part, "image_url", part_path, true));
      ContentBlock block;
      block.type = ContentBlock::Type::kImage;
      FORMATS_ASSIGN_OR_RETURN(
          block.image.url, formats::GetString(*image, "url", FieldPath(part_path, "image_url")));
      block.image = formats::InlineDataUrl(std::move(block.image));
      blocks.push_back(std::move(block));
    } else if (type == "input_audio" || type == "file") {
      return FieldError(FieldPath(part_path, "type"),
                        StrCat("content part type '", type, "' is not supported"));
    } else {
      return FieldError(FieldPath(part_path, "type"),
                        StrCat("unknown content part type '", type, "'"));
    }
  }
  return blocks;
}

absl::StatusOr<ContentBlock> ParseToolCall(const Json& call, std::string_view path) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(call, path));
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> type,
                           formats::GetOptionalString(call, "type", path));
  if (type && *type != "function") {
    return FieldError(FieldPath(path, "type"),
                      StrCat("tool call type '", *type, "' is not supported (only 'function')"));
  }
  ToolUse use;
  FORMATS_ASSIGN_OR_RETURN(use.id, formats::GetString(call, "id", path));
  FORMATS_ASSIGN_OR_RETURN(const Json* function, formats::GetObject(call, "function", path, true));
  const std::string function_path = FieldPath(path, "function");
  FORMATS_ASSIGN_OR_RETURN(use.name, formats::GetString(*function, "name", function_path));
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> arguments,
                           formats::GetOptionalString(*function, "arguments", function_path));
  use.input = formats::ParseToolArguments(arguments.value_or(""));
  return ContentBlock::ToolCall(std::move(use));
}

bool EndsWithToolResult(const Message& m) {
  return m.role == Role::kUser && !m.content.empty() &&
         m.content.back().type == ContentBlock::Type::kToolResult;
}

// One message of the `messages` array, appended to `request` (see the merge
// rules in the header).
absl::Status ParseMessage(const Json& message, std::string_view path, ChatRequest* request,
                          std::vector<std::string>* system_parts) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(message, path));
  FORMATS_ASSIGN_OR_RETURN(std::string role, formats::GetString(message, "role", path));
  const std::string content_path = FieldPath(path, "content");
  const Json* content = Find(message, "content");
  std::vector<Message>& turns = request->messages;
  if (role == "system" || role == "developer") {
    if (content == nullptr) return FieldError(content_path, "is required");
    FORMATS_ASSIGN_OR_RETURN(std::vector<std::string> texts,
                             ParseTextParts(*content, content_path, false));
    system_parts->push_back(formats::Join(texts, "\n\n"));
  } else if (role == "user") {
    if (content == nullptr) return FieldError(content_path, "is required");
    FORMATS_ASSIGN_OR_RETURN(std::vector<ContentBlock> blocks,
                             ParseUserContent(*content, content_path));
    if (turns.empty() || !EndsWithToolResult(turns.back())) turns.push_back({Role::kUser, {}});
    for (ContentBlock& b : blocks) turns.back().content.push_back(std::move(b));
  } else if (role == "assistant") {
    Message turn{Role::kAssistant, {}};
    if (content != nullptr) {
      FORMATS_ASSIGN_OR_RETURN(std::vector<std::string> texts,
                               ParseTextParts(*content, content_path, true));
      for (std::string& t : texts) {
        if (!t.empty()) turn.content.push_back(ContentBlock::Text(std::move(t)));
      }
    }
    FORMATS_ASSIGN_OR_RETURN(const Json* calls,
                             formats::GetArray(message, "tool_calls", path, false));
    if (calls != nullptr) {
      for (size_t i = 0; i < calls->size(); ++i) {
        FORMATS_ASSIGN_OR_RETURN(
            ContentBlock call,
            ParseToolCall((*calls)[i], IndexPath(FieldPath(path, "tool_calls"), i)));
        turn.content.push_back(std::move(call));
      }
    }
    turns.push_back(std::move(turn));
  } else if (role == "tool") {
    ContentBlock block;
    block.type = ContentBlock::Type::kToolResult;
    FORMATS_ASSIGN_OR_RETURN(block.tool_result.tool_use_id,
                             formats::GetString(message, "tool_call_id", path));
    if (content == nullptr) return FieldError(content_path, "is required");
    FORMATS_ASSIGN_OR_RETURN(std::vector<std::string> texts,
                             ParseTextParts(*content, content_path, false));
    // A lone empty string is "no content" (tool messages must carry content).
    if (!(content->is_string() && texts[0].empty())) {
      for (std::string& t : texts) block.tool_result.content.push_back(ContentBlock::Text(t));
    }
    if (turns.empty() || turns.back().role != Role::kUser) turns.push_back({Role::kUser, {}});
    turns.back().content.push_back(std::move(block));
  } else if (role == "function") {
    return FieldError(FieldPath(path, "role"),
                      "role 'function' (deprecated) is not supported; use tool messages");
  } else {
    return FieldError(FieldPath(path, "role"), StrCat("unknown role '", role, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ToolSpec> ParseTool(const Json& tool, std::string_view path) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(tool, path));
  FORMATS_ASSIGN_OR_RETURN(std::string type, formats::GetString(tool, "type", path));
  if (type != "function") {
    return FieldError(FieldPath(path, "type"),
                      StrCat("tool type '", type, "' is not supported (only 'function')"));
  }
  FORMATS_ASSIGN_OR_RETURN(const Json* function, formats::GetObject(tool, "function", path, true));
  const std::string function_path = FieldPath(path, "function");
  ToolSpec spec;
  FORMATS_ASSIGN_OR_RETURN(spec.name, formats::GetString(*function, "name", function_path));
  if (spec.name.empty()) return FieldError(FieldPath(function_path, "name"), "must not be empty");
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> description,
                           formats::GetOptionalString(*function, "description", function_path));
  spec.description = description.value_or("");
  FORMATS_ASSIGN_OR_RETURN(const Json* parameters,
                           formats::GetObject(*function, "parameters", function_path, false));
  // Omitted parameters mean "no arguments" (OpenAI docs); say so as a schema so
  // providers that require one (Anthropic, Converse) accept it.
  spec.input_schema = parameters != nullptr
                          ? *parameters
                          : Json{{"type", "object"}, {"properties", Json::object()}};
  return spec;
}

absl::StatusOr<ToolChoice> ParseToolChoice(const Json& choice) {
  constexpr std::string_view kPath = "tool_choice";
  ToolChoice out;
  if (choice.is_string()) {
    const std::string mode = choice.get<std::string>();
    if (mode == "auto") return out;
    if (mode == "none")
      out.mode = ToolChoice::Mode::kNone;
    else if (mode == "required")
      out.mode = ToolChoice::Mode::kAny;
    else
      return FieldError(kPath, StrCat("unknown value '", mode, "' (auto, none, required)"));
    return out;
  }
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(choice, kPath));
  FORMATS_ASSIGN_OR_RETURN(std::string type, formats::GetString(choice, "type", kPath));
  if (type != "function") {
    return FieldError(FieldPath(kPath, "type"),
                      StrCat("tool choice type '", type, "' is not supported (only 'function')"));
  }
  FORMATS_ASSIGN_OR_RETURN(const Json* function,
                           formats::GetObject(choice, "function", kPath, true));
  out.mode = ToolChoice::Mode::kTool;
  FORMATS_ASSIGN_OR_RETURN(out.name, formats::GetString(*function, "name", "tool_choice.function"));
  return out;
}

absl::Status ParseSampling(const Json& body, ChatRequest* request) {
  FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> max_completion,
                           formats::GetOptionalInt(body, "max_completion_tokens", "", 1));
  FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> max_tokens,
                           formats::GetOptionalInt(body, "max_tokens", "", 1));
  request->max_tokens = max_completion ? max_completion : max_tokens;
  FORMATS_ASSIGN_OR_RETURN(request->temperature,
                           formats::GetOptionalNumber(body, "temperature", "", 0.0, 2.0));
  FORMATS_ASSIGN_OR_RETURN(request->top_p, formats::GetOptionalNumber(body, "top_p", "", 0.0, 1.0));
  if (const Json* stop = Find(body, "stop"); stop != nullptr && stop->is_string()) {
    request->stop.push_back(stop->get<std::string>());
  } else {
    FORMATS_ASSIGN_OR_RETURN(request->stop, formats::GetStringList(body, "stop", ""));
  }
  FORMATS_ASSIGN_OR_RETURN(std::optional<bool> stream,
                           formats::GetOptionalBool(body, "stream", ""));
  request->stream = stream.value_or(false);
  FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> n, formats::GetOptionalInt(body, "n", "", 1));
  if (n && *n != 1) return FieldError("n", "only 1 choice is supported");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ChatRequest> ParseChatRequest(const Json& body) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(body, "body"));
  ChatRequest request;
  FORMATS_ASSIGN_OR_RETURN(request.model, formats::GetString(body, "model", ""));
  FORMATS_ASSIGN_OR_RETURN(const Json* messages, formats::GetArray(body, "messages", "", true));
  if (messages->empty()) return FieldError("messages", "must not be empty");
  std::vector<std::string> system_parts;
  for (size_t i = 0; i < messages->size(); ++i) {
    FORMATS_RETURN_IF_ERROR(
        ParseMessage((*messages)[i], IndexPath("messages", i), &request, &system_parts));
  }
  request.system = formats::Join(system_parts, "\n\n");
  FORMATS_RETURN_IF_ERROR(ParseSampling(body, &request));
  FORMATS_ASSIGN_OR_RETURN(const Json* tools, formats::GetArray(body, "tools", "", false));
  for (size_t i = 0; tools != nullptr && i < tools->size(); ++i) {
    FORMATS_ASSIGN_OR_RETURN(ToolSpec spec, ParseTool((*tools)[i], IndexPath("tools", i)));
    request.tools.push_back(std::move(spec));
  }
  if (const Json* choice = Find(body, "tool_choice")) {
    FORMATS_ASSIGN_OR_RETURN(request.tool_choice, ParseToolChoice(*choice));
  }
  static const char* const kKnown[] = {
      "model",  "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop",
      "stream", "tools",    "tool_choice"};
  for (auto it = body.begin(); it != body.end(); ++it) {
    bool known = false;
    for (const char* k : kKnown) known = known || it.key() == k;
    if (!known) request.extra[it.key()] = it.value();
  }
  return request;
}

namespace {

// Content of a user or tool message: a plain string for one text part.
Json PartsContent(Json parts) {
  if (parts.size() == 1 && parts[0]["type"] == "text") return parts[0]["text"];
  return parts;
}

Json TextPart(const std::string& text) { return {{"type", "text"}, {"text", text}}; }

Json ImagePart(const ImageContent& image) {
  const std::string url = image.url.empty() ? formats::DataUrl(image) : image.url;
  return {{"type", "image_url"}, {"image_url", {{"url", url}}}};
}

// A user turn: tool results become tool messages; other blocks gather into user
// messages. Images inside tool results follow the run of tool messages.
void RenderUserTurn(const Message& turn, Json* out) {
  Json parts = Json::array();
  Json deferred_images = Json::array();
  auto flush_user = [&] {
    for (Json& part : parts) deferred_images.push_back(std::move(part));
    parts = std::move(deferred_images);
    deferred_images = Json::array();
    if (!parts.empty()) out->push_back({{"role", "user"}, {"content", PartsContent(parts)}});
    parts = Json::array();
  };
  for (const ContentBlock& block : turn.content) {
    switch (block.type) {
      case ContentBlock::Type::kText:
        parts.push_back(TextPart(block.text));
        break;
      case ContentBlock::Type::kJson:
        parts.push_back(TextPart(formats::Dump(block.json)));
        break;
      case ContentBlock::Type::kImage:
        parts.push_back(ImagePart(block.image));
        break;
      case ContentBlock::Type::kToolUse:
        break;  // not valid in a user turn
      case ContentBlock::Type::kToolResult: {
        if (!parts.empty()) flush_user();
        Json texts = Json::array();
        for (const ContentBlock& inner : block.tool_result.content) {
          if (inner.type == ContentBlock::Type::kText) texts.push_back(TextPart(inner.text));
          if (inner.type == ContentBlock::Type::kJson) {
            texts.push_back(TextPart(formats::Dump(inner.json)));
          }
          if (inner.type == ContentBlock::Type::kImage) {
            deferred_images.push_back(ImagePart(inner.image));
          }
        }
        out->push_back({{"role", "tool"},
                        {"tool_call_id", block.tool_result.tool_use_id},
                        {"content", texts.empty() ? Json("") : PartsContent(texts)}});
        break;
      }
    }
  }
  flush_user();
}

void RenderAssistantTurn(const std::vector<ContentBlock>& blocks, Json* message) {
  Json texts = Json::array();
  Json calls = Json::array();
  for (const ContentBlock& block : blocks) {
    if (block.type == ContentBlock::Type::kText) texts.push_back(TextPart(block.text));
    if (block.type == ContentBlock::Type::kJson)
      texts.push_back(TextPart(formats::Dump(block.json)));
    if (block.type == ContentBlock::Type::kToolUse) {
      calls.push_back({{"id", block.tool_use.id},
                       {"type", "function"},
                       {"function",
                        {{"name", block.tool_use.name},
                         {"arguments", formats::ToolArgumentsText(block.tool_use.input)}}}});
    }
  }
  (*message)["role"] = "assistant";
  if (texts.empty()) {
    (*message)["content"] = calls.empty() ? Json("") : Json(nullptr);
  } else {
    (*message)["content"] = PartsContent(texts);
  }
  if (!calls.empty()) (*message)["tool_calls"] = std::move(calls);
}

Json RenderToolChoice(const ToolChoice& choice) {
  switch (choice.mode) {
    case ToolChoice::Mode::kAuto:
      return "auto";
    case ToolChoice::Mode::kNone:
      return "none";
    case ToolChoice::Mode::kAny:
      return "required";
    case ToolChoice::Mode::kTool:
      return {{"type", "function"}, {"function", {{"name", choice.name}}}};
  }
  return "auto";
}

}  // namespace

Json RenderChatRequest(const ChatRequest& request, const RenderOptions& options) {
  Json body = Json::object();
  if (!request.model.empty()) body["model"] = request.model;
  Json messages = Json::array();
  if (!request.system.empty())
    messages.push_back({{"role", "system"}, {"content", request.system}});
  for (const Message& turn : request.messages) {
    if (turn.role == Role::kUser) {
      RenderUserTurn(turn, &messages);
    } else {
      Json message = Json::object();
      RenderAssistantTurn(turn.content, &message);
      messages.push_back(std::move(message));
    }
  }
  body["messages"] = std::move(messages);
  if (request.max_tokens) {
    body[options.use_max_completion_tokens ? "max_completion_tokens" : "max_tokens"] =
        *request.max_tokens;
  }
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (!request.stop.empty()) body["stop"] = request.stop;
  if (request.stream) {
    body["stream"] = true;
    if (options.request_stream_usage) {
      Json stream_options = Json::object();
      if (const Json* given = Find(request.extra, "stream_options"); given && given->is_object()) {
        stream_options = *given;
      }
      stream_options["include_usage"] = true;
      body["stream_options"] = std::move(stream_options);
    }
  }
  if (!request.tools.empty()) {
    Json tools = Json::array();
    for (const ToolSpec& t : request.tools) {
      Json function = {{"name", t.name}, {"parameters", t.input_schema}};
      if (!t.description.empty()) function["description"] = t.description;
      tools.push_back({{"type", "function"}, {"function", std::move(function)}});
    }
    body["tools"] = std::move(tools);
  }
  if (request.tool_choice) body["tool_choice"] = RenderToolChoice(*request.tool_choice);
  formats::MergeExtra(request.extra, &body);
  return body;
}

std::string_view FinishReason(StopReason reason) {
  switch (reason) {
    case StopReason::kEndTurn:
    case StopReason::kStopSequence:
      return "stop";
    case StopReason::kMaxTokens:
      return "length";
    case StopReason::kToolUse:
      return "tool_calls";
    case StopReason::kContentFiltered:
      return "content_filter";
  }
  return "stop";
}

bool IncludeUsage(const ChatRequest& request) {
  const Json* options = Find(request.extra, "stream_options");
  const Json* include = options != nullptr ? Find(*options, "include_usage") : nullptr;
  return include != nullptr && include->is_boolean() && include->get<bool>();
}

namespace {

absl::StatusOr<ChatResponse> ParseResponse(const Json& body) {
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(body, "body"));
  ChatResponse response;
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> id,
                           formats::GetOptionalString(body, "id", ""));
  response.id = id.value_or("");
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> model,
                           formats::GetOptionalString(body, "model", ""));
  response.model = model.value_or("");
  FORMATS_ASSIGN_OR_RETURN(const Json* choices, formats::GetArray(body, "choices", "", true));
  if (choices->empty()) return FieldError("choices", "must not be empty");
  const Json& choice = (*choices)[0];
  FORMATS_RETURN_IF_ERROR(formats::ExpectObject(choice, "choices[0]"));
  FORMATS_ASSIGN_OR_RETURN(const Json* message,
                           formats::GetObject(choice, "message", "choices[0]", true));
  constexpr std::string_view kPath = "choices[0].message";
  if (const Json* content = Find(*message, "content")) {
    FORMATS_ASSIGN_OR_RETURN(std::vector<std::string> texts,
                             ParseTextParts(*content, FieldPath(kPath, "content"), true));
    for (std::string& t : texts) response.content.push_back(ContentBlock::Text(std::move(t)));
  }
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> refusal,
                           formats::GetOptionalString(*message, "refusal", kPath));
  if (refusal && !refusal->empty()) response.content.push_back(ContentBlock::Text(*refusal));
  FORMATS_ASSIGN_OR_RETURN(const Json* calls,
                           formats::GetArray(*message, "tool_calls", kPath, false));
  for (size_t i = 0; calls != nullptr && i < calls->size(); ++i) {
    FORMATS_ASSIGN_OR_RETURN(
        ContentBlock call,
        ParseToolCall((*calls)[i], IndexPath(FieldPath(kPath, "tool_calls"), i)));
    response.content.push_back(std::move(call));
  }
  FORMATS_ASSIGN_OR_RETURN(std::optional<std::string> finish,
                           formats::GetOptionalString(choice, "finish_reason", "choices[0]"));
  const std::string f = finish.value_or("stop");
  if (f == "length") response.stop_reason = StopReason::kMaxTokens;
  if (f == "tool_calls" || f == "function_call") response.stop_reason = StopReason::kToolUse;
  if (f == "content_filter") response.stop_reason = StopReason::kContentFiltered;
  if (const Json* usage = Find(body, "usage")) {
    FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> in,
                             formats::GetOptionalInt(*usage, "prompt_tokens", "usage", 0));
    FORMATS_ASSIGN_OR_RETURN(std::optional<int64_t> out,
                             formats::GetOptionalInt(*usage, "completion_tokens", "usage", 0));
    response.usage = {in.value_or(0), out.value_or(0)};
  }
  return response;
}

}  // namespace

absl::StatusOr<ChatResponse> ParseChatResponse(const Json& body) {
  absl::StatusOr<ChatResponse> response = ParseResponse(body);
  if (!response.ok()) return formats::UpstreamError(response.status());
  return response;
}

Json RenderChatResponse(const ChatResponse& response, int64_t created) {
  std::string text;
  bool has_text = false;
  Json calls = Json::array();
  for (const ContentBlock& block : response.content) {
    if (block.type == ContentBlock::Type::kText) {
      text += block.text;
      has_text = true;
    } else if (block.type == ContentBlock::Type::kToolUse) {
      calls.push_back({{"id", block.tool_use.id},
                       {"type", "function"},
                       {"function",
                        {{"name", block.tool_use.name},
                         {"arguments", formats::ToolArgumentsText(block.tool_use.input)}}}});
    }
  }
  Json message = {{"role", "assistant"},
                  {"content", has_text ? Json(text) : Json(nullptr)},
                  {"refusal", nullptr}};
  if (!calls.empty()) message["tool_calls"] = std::move(calls);
  const Usage& u = response.usage;
  return {{"id", response.id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", response.model},
          {"choices", Json::array({{{"index", 0},
                                    {"message", std::move(message)},
                                    {"logprobs", nullptr},
                                    {"finish_reason", FinishReason(response.stop_reason)}}})},
          {"usage",
           {{"prompt_tokens", u.input_tokens},
            {"completion_tokens", u.output_tokens},
            {"total_tokens", u.input_tokens + u.output_tokens}}}};
}

}  // namespace basalt::models::openai
