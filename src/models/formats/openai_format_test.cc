#include "models/formats/openai_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/formats/format_util.h"

namespace basalt::models::openai {
namespace {

using formats::CanonicalJson;
using nlohmann::json;
using ::testing::HasSubstr;

using T = ContentBlock::Type;

// A request shaped like the OpenAI docs' function-calling walkthrough.
constexpr char kToolConversation[] = R"json({
  "model": "gpt-4o",
  "messages": [
    {"role": "developer", "content": "You are a helpful assistant."},
    {"role": "system", "content": [{"type": "text", "text": "Answer briefly."}]},
    {"role": "user", "content": [
      {"type": "text", "text": "What's the weather like in Boston and Paris?"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
      {"type": "image_url", "image_url": {"url": "https://example.com/map.jpg"}}]},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_abc", "type": "function",
       "function": {"name": "get_current_weather", "arguments": "{\"location\": \"Boston, MA\"}"}},
      {"id": "call_def", "type": "function",
       "function": {"name": "get_current_weather", "arguments": "{\"location\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_abc", "content": "{\"temperature\": 22}"},
    {"role": "tool", "tool_call_id": "call_def",
     "content": [{"type": "text", "text": "18C"}, {"type": "text", "text": "cloudy"}]},
    {"role": "user", "content": "And tomorrow?"}
  ],
  "tools": [{"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                   "required": ["location"]}}}],
  "tool_choice": "auto",
  "max_completion_tokens": 300,
  "temperature": 1.5,
  "stop": "\n\n",
  "stream": true,
  "stream_options": {"include_usage": true},
  "user": "u-42",
  "n": 1
})json";

TEST(OpenAIRequest, ParsesToolConversation) {
  absl::StatusOr<ChatRequest> r = ParseChatRequest(json::parse(kToolConversation));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->model, "gpt-4o");
  EXPECT_EQ(r->system, "You are a helpful assistant.\n\nAnswer briefly.");
  ASSERT_EQ(r->messages.size(), 3u);

  const Message& user = r->messages[0];
  ASSERT_EQ(user.content.size(), 3u);
  EXPECT_EQ(user.content[0].text, "What's the weather like in Boston and Paris?");
  EXPECT_EQ(user.content[1].type, T::kImage);
  EXPECT_EQ(user.content[1].image.media_type, "image/png");
  EXPECT_EQ(user.content[1].image.data, "iVBORw0KGgo=");
  EXPECT_EQ(user.content[1].image.url, "");
  EXPECT_EQ(user.content[2].image.url, "https://example.com/map.jpg");

  const Message& assistant = r->messages[1];
  EXPECT_EQ(assistant.role, Role::kAssistant);
  ASSERT_EQ(assistant.content.size(), 2u);
  EXPECT_EQ(assistant.content[0].type, T::kToolUse);
  EXPECT_EQ(assistant.content[0].tool_use.id, "call_abc");
  EXPECT_EQ(assistant.content[0].tool_use.input, json({{"location", "Boston, MA"}}));
  EXPECT_EQ(assistant.content[1].tool_use.input, json({{"location", "Paris"}}));

  // Both tool messages and the following user message form one user turn.
  const Message& results = r->messages[2];
  EXPECT_EQ(results.role, Role::kUser);
  ASSERT_EQ(results.content.size(), 3u);
  EXPECT_EQ(results.content[0].type, T::kToolResult);
  EXPECT_EQ(results.content[0].tool_result.tool_use_id, "call_abc");
  ASSERT_EQ(results.content[0].tool_result.content.size(), 1u);
  EXPECT_EQ(results.content[0].tool_result.content[0].text, "{\"temperature\": 22}");
  ASSERT_EQ(results.content[1].tool_result.content.size(), 2u);
  EXPECT_EQ(results.content[1].tool_result.content[1].text, "cloudy");
  EXPECT_EQ(results.content[2].text, "And tomorrow?");

  ASSERT_EQ(r->tools.size(), 1u);
  EXPECT_EQ(r->tools[0].description, "Get the current weather");
  EXPECT_EQ(r->tools[0].input_schema["required"], json::array({"location"}));
  ASSERT_TRUE(r->tool_choice.has_value());
  EXPECT_EQ(r->tool_choice->mode, ToolChoice::Mode::kAuto);
  EXPECT_EQ(r->max_tokens, 300);
  EXPECT_EQ(r->temperature, 1.5);
  EXPECT_EQ(r->stop, std::vector<std::string>{"\n\n"});
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(IncludeUsage(*r));
  EXPECT_EQ(r->extra,
            json({{"stream_options", {{"include_usage", true}}}, {"user", "u-42"}, {"n", 1}}));
}

TEST(OpenAIRequest, ToolChoiceForms) {
  auto choice = [](json value) {
    json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
    body["tool_choice"] = std::move(value);
    absl::StatusOr<ChatRequest> r = ParseChatRequest(body);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->tool_choice ? *r->tool_choice : ToolChoice{};
  };
  EXPECT_EQ(choice("none").mode, ToolChoice::Mode::kNone);
  EXPECT_EQ(choice("required").mode, ToolChoice::Mode::kAny);
  ToolChoice named = choice({{"type", "function"}, {"function", {{"name", "lookup"}}}});
  EXPECT_EQ(named.mode, ToolChoice::Mode::kTool);
  EXPECT_EQ(named.name, "lookup");
}

TEST(OpenAIRequest, MaxTokensAloneAndNullsAsAbsent) {
  json body = {{"model", "m"},
               {"messages", {{{"role", "user"}, {"content", "hi"}}}},
               {"max_tokens", 64},
               {"stop", nullptr},
               {"temperature", nullptr}};
  absl::StatusOr<ChatRequest> r = ParseChatRequest(body);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->max_tokens, 64);
  EXPECT_TRUE(r->stop.empty());
  EXPECT_FALSE(r->temperature.has_value());
}

TEST(OpenAIRequest, ToolArgumentsThatAreNotAJsonObjectAreKeptVerbatim) {
  json body = json::parse(R"({"model": "m", "messages": [
    {"role": "user", "content": "go"},
    {"role": "assistant", "tool_calls": [
      {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"city\": \"Par"}},
      {"id": "c2", "type": "function", "function": {"name": "g", "arguments": ""}},
      {"id": "c3", "type": "function", "function": {"name": "h", "arguments": "[1, 2]"}}]}]})");
  absl::StatusOr<ChatRequest> r = ParseChatRequest(body);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<ContentBlock>& calls = r->messages[1].content;
  EXPECT_EQ(calls[0].tool_use.input, json({{"_raw", "{\"city\": \"Par"}}));
  EXPECT_EQ(calls[1].tool_use.input, json::object());
  EXPECT_EQ(calls[2].tool_use.input, json({{"_raw", "[1, 2]"}}));

  json rendered = RenderChatRequest(*r);
  const json& tool_calls = rendered["messages"][1]["tool_calls"];
  EXPECT_EQ(tool_calls[0]["function"]["arguments"], "{\"city\": \"Par");
  EXPECT_EQ(tool_calls[1]["function"]["arguments"], "{}");
  EXPECT_EQ(tool_calls[2]["function"]["arguments"], "[1, 2]");
}

TEST(OpenAIRequest, ToolWithoutParametersTakesNoArguments) {
  json body = json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
    "tools": [{"type": "function", "function": {"name": "now"}}]})");
  absl::StatusOr<ChatRequest> r = ParseChatRequest(body);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tools[0].input_schema, json({{"type", "object"}, {"properties", json::object()}}));
}

struct BadCase {
  const char* body;
  const char* error;
};

TEST(OpenAIRequest, ValidationErrorsNameTheField) {
  const BadCase cases[] = {
      {R"({"model": "m"})", "messages: is required"},
      {R"({"messages": [{"role": "user", "content": "x"}]})", "model: is required"},
      {R"({"model": "m", "messages": {}})", "messages: must be an array, got object"},
      {R"({"model": "m", "messages": []})", "messages: must not be empty"},
      {R"({"model": "m", "messages": [{"role": "wizard", "content": "x"}]})",
       "messages[0].role: unknown role 'wizard'"},
      {R"({"model": "m", "messages": [{"content": "x"}]})", "messages[0].role: is required"},
      {R"({"model": "m", "messages": [{"role": "user", "content": 7}]})",
       "messages[0].content: must be a string or an array of content parts, got integer"},
      {R"({"model": "m", "messages": [{"role": "user", "content": [{"type": "video"}]}]})",
       "messages[0].content[0].type: unknown content part type 'video'"},
      {R"({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]})",
       "messages[0].content[0].type: content part type 'input_audio' is not supported"},
      {R"({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]})",
       "messages[0].content[0].image_url: is required"},
      {R"({"model": "m", "messages": [{"role": "tool", "content": "x"}]})",
       "messages[0].tool_call_id: is required"},
      {R"({"model": "m", "messages": [{"role": "system", "content": [{"type": "image_url"}]}]})",
       "messages[0].content[0].type: content part type 'image_url' is not allowed here"},
      {R"({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c"}]}]})",
       "messages[0].tool_calls[0].function: is required"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0})",
       "max_tokens: must be >= 1, got 0"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5})",
       "max_tokens: must be an integer, got number"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 2.5})",
       "temperature: must be between 0 and 2, got 2.5"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_p": "high"})",
       "top_p: must be a number, got string"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": [1]})",
       "stop[0]: must be a string, got integer"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"})",
       "stream: must be a boolean, got string"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 3})",
       "n: only 1 choice is supported"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
           "tools": [{"type": "custom", "custom": {"name": "x"}}]})",
       "tools[0].type: tool type 'custom' is not supported"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
           "tools": [{"type": "function", "function": {"description": "d"}}]})",
       "tools[0].function.name: is required"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "always"})",
       "tool_choice: unknown value 'always'"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
           "tool_choice": {"type": "function", "function": {}}})",
       "tool_choice.function.name: is required"},
      {R"([1, 2])", "body: must be an object, got array"},
  };
  for (const BadCase& c : cases) {
    absl::StatusOr<ChatRequest> r = ParseChatRequest(json::parse(c.body));
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.error)) << c.body;
  }
}

ContentBlock ToolResult(std::string id, std::vector<ContentBlock> content, bool is_error = false) {
  ContentBlock b;
  b.type = T::kToolResult;
  b.tool_result = {std::move(id), std::move(content), is_error};
  return b;
}

ContentBlock Image(std::string media_type, std::string data) {
  ContentBlock b;
  b.type = T::kImage;
  b.image.media_type = std::move(media_type);
  b.image.data = std::move(data);
  return b;
}

TEST(OpenAIRequest, RendersToolResultsAsToolMessages) {
  ChatRequest request;
  request.model = "gpt-4o-mini";
  request.system = "Be brief.";
  ContentBlock json_block;
  json_block.type = T::kJson;
  json_block.json = {{"temp_c", 21}};
  request.messages.push_back(
      {Role::kAssistant, {ContentBlock::ToolCall({"call_1", "weather", {{"city", "Oslo"}}})}});
  request.messages.push_back(
      {Role::kUser,
       {ToolResult("call_1", {ContentBlock::Text("ok"), json_block, Image("image/png", "AAAA")},
                   /*is_error=*/true),
        ContentBlock::Text("Summarise.")}});
  request.max_tokens = 100;
  request.stream = true;

  json body = RenderChatRequest(request, {.use_max_completion_tokens = true});
  json expected_messages = json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_1", "type": "function",
       "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1",
     "content": [{"type": "text", "text": "ok"}, {"type": "text", "text": "{\"temp_c\":21}"}]},
    {"role": "user", "content": [
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
      {"type": "text", "text": "Summarise."}]}
  ])");
  EXPECT_EQ(body["messages"], expected_messages) << body["messages"].dump(2);
  EXPECT_EQ(body["max_completion_tokens"], 100);
  EXPECT_FALSE(body.contains("max_tokens"));
  EXPECT_EQ(body["stream_options"], json({{"include_usage", true}}));
}

constexpr char kToolCallResponse[] = R"json({
  "id": "chatcmpl-abc123", "object": "chat.completion", "created": 1699896916,
  "model": "gpt-4o-mini-2024-07-18",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "Checking.", "refusal": null,
    "tool_calls": [{"id": "call_abc123", "type": "function",
      "function": {"name": "get_current_weather", "arguments": "{\n\"location\": \"Boston, MA\"\n}"}}]},
    "logprobs": null, "finish_reason": "tool_calls"}],
  "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99,
            "completion_tokens_details": {"reasoning_tokens": 0}}
})json";

TEST(OpenAIResponse, ParsesToolCalls) {
  absl::StatusOr<ChatResponse> r = ParseChatResponse(json::parse(kToolCallResponse));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, "chatcmpl-abc123");
  EXPECT_EQ(r->model, "gpt-4o-mini-2024-07-18");
  ASSERT_EQ(r->content.size(), 2u);
  EXPECT_EQ(r->content[0].text, "Checking.");
  EXPECT_EQ(r->content[1].tool_use.input, json({{"location", "Boston, MA"}}));
  EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
  EXPECT_EQ(r->usage.input_tokens, 82);
  EXPECT_EQ(r->usage.output_tokens, 17);
}

TEST(OpenAIResponse, MalformedUpstreamAnswerIsNotAClientError) {
  absl::StatusOr<ChatResponse> r = ParseChatResponse(json::parse(R"({"choices": []})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("choices: must not be empty"));
}

TEST(OpenAIResponse, RendersChatCompletion) {
  ChatResponse response;
  response.id = "chatcmpl-1";
  response.model = "basalt-chat";
  response.content = {ContentBlock::Text("Hello"), ContentBlock::Text(" there"),
                      ContentBlock::ToolCall({"call_9", "lookup", {{"q", "x"}}})};
  response.stop_reason = StopReason::kToolUse;
  response.usage = {10, 4};
  json expected = json::parse(R"({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "basalt-chat",
    "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls",
      "message": {"role": "assistant", "content": "Hello there", "refusal": null,
        "tool_calls": [{"id": "call_9", "type": "function",
                        "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"}}]}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}})");
  EXPECT_EQ(RenderChatResponse(response, 1700000000), expected);
}

TEST(OpenAIResponse, FinishReasons) {
  EXPECT_EQ(FinishReason(StopReason::kEndTurn), "stop");
  EXPECT_EQ(FinishReason(StopReason::kStopSequence), "stop");
  EXPECT_EQ(FinishReason(StopReason::kMaxTokens), "length");
  EXPECT_EQ(FinishReason(StopReason::kToolUse), "tool_calls");
  EXPECT_EQ(FinishReason(StopReason::kContentFiltered), "content_filter");
  for (const char* f : {"stop", "length", "tool_calls", "content_filter"}) {
    json body = {
        {"choices",
         {{{"message", {{"role", "assistant"}, {"content", "x"}}}, {"finish_reason", f}}}}};
    absl::StatusOr<ChatResponse> r = ParseChatResponse(body);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(FinishReason(r->stop_reason), f);
  }
}

}  // namespace
}  // namespace basalt::models::openai
