#include "models/formats/anthropic_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/formats/format_util.h"

namespace basalt::models::anthropic {
namespace {

using formats::CanonicalJson;
using nlohmann::json;
using ::testing::HasSubstr;
using T = ContentBlock::Type;

// Shaped like the Messages API docs' tool-use examples.
constexpr char kToolResultRequest[] = R"json({
  "model": "claude-sonnet-4-5",
  "max_tokens": 1024,
  "system": [{"type": "text", "text": "You are a weather bot."},
             {"type": "text", "text": "Use metric units.", "cache_control": {"type": "ephemeral"}}],
  "tools": [{"name": "get_weather", "description": "Get the current weather in a given location",
             "input_schema": {"type": "object", "properties": {"location": {"type": "string"}},
                              "required": ["location"]}}],
  "tool_choice": {"type": "tool", "name": "get_weather"},
  "messages": [
    {"role": "user", "content": [
      {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
      {"type": "image", "source": {"type": "url", "url": "https://upload.example.org/ant.jpg"}},
      {"type": "text", "text": "What's the weather where this photo was taken?"}]},
    {"role": "assistant", "content": [
      {"type": "text", "text": "<thinking>I need the weather tool.</thinking>"},
      {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
       "input": {"location": "San Francisco, CA"}}]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
       "content": [{"type": "text", "text": "15 degrees"},
                   {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}]},
      {"type": "tool_result", "tool_use_id": "toolu_02", "content": "ConnectionError", "is_error": true},
      {"type": "tool_result", "tool_use_id": "toolu_03"}]}
  ],
  "stop_sequences": ["\n\nHuman:"],
  "temperature": 0.5,
  "top_p": 0.9,
  "top_k": 40,
  "metadata": {"user_id": "u-1"},
  "stream": false
})json";

TEST(AnthropicRequest, ParsesToolResultConversation) {
  absl::StatusOr<ChatRequest> r = ParseChatRequest(json::parse(kToolResultRequest));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->model, "claude-sonnet-4-5");
  EXPECT_EQ(r->max_tokens, 1024);
  EXPECT_EQ(r->system, "You are a weather bot.\n\nUse metric units.");
  ASSERT_EQ(r->messages.size(), 3u);
  const Message& first = r->messages[0];
  EXPECT_EQ(first.content[0].image.media_type, "image/jpeg");
  EXPECT_EQ(first.content[0].image.data, "/9j/4AAQ");
  EXPECT_EQ(first.content[1].image.url, "https://upload.example.org/ant.jpg");
  EXPECT_EQ(r->messages[1].content[1].tool_use.input, json({{"location", "San Francisco, CA"}}));

  const std::vector<ContentBlock>& results = r->messages[2].content;
  ASSERT_EQ(results.size(), 3u);
  ASSERT_EQ(results[0].tool_result.content.size(), 2u);
  EXPECT_EQ(results[0].tool_result.content[0].text, "15 degrees");
  EXPECT_EQ(results[0].tool_result.content[1].type, T::kImage);
  EXPECT_FALSE(results[0].tool_result.is_error);
  EXPECT_EQ(results[1].tool_result.content[0].text, "ConnectionError");
  EXPECT_TRUE(results[1].tool_result.is_error);
  EXPECT_TRUE(results[2].tool_result.content.empty());

  EXPECT_EQ(r->tools[0].name, "get_weather");
  EXPECT_EQ(r->tool_choice->mode, ToolChoice::Mode::kTool);
  EXPECT_EQ(r->tool_choice->name, "get_weather");
  EXPECT_EQ(r->stop, std::vector<std::string>{"\n\nHuman:"});
  EXPECT_EQ(r->temperature, 0.5);
  EXPECT_EQ(r->top_p, 0.9);
  EXPECT_FALSE(r->stream);
  EXPECT_EQ(r->extra, json({{"top_k", 40}, {"metadata", {{"user_id", "u-1"}}}}));
}

TEST(AnthropicRequest, BedrockInvokeBodyHasNoModel) {
  json body = json::parse(R"({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
    "messages": [{"role": "user", "content": "Hello"}]})");
  EXPECT_FALSE(ParseChatRequest(body).ok());
  absl::StatusOr<ChatRequest> r = ParseChatRequest(body, {.require_model = false});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->model, "");
  EXPECT_EQ(r->messages[0].content[0].text, "Hello");
  EXPECT_EQ(r->extra, json({{"anthropic_version", "bedrock-2023-05-31"}}));
  // Rendered back: no model, the version passes through, content as blocks.
  EXPECT_EQ(RenderChatRequest(*r), json::parse(R"({"anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 200, "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]})"));
}

TEST(AnthropicRequest, ValidationErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}]})",
       "max_tokens: is required"},
      {R"({"model": "m", "max_tokens": 0, "messages": []})", "max_tokens: must be >= 1, got 0"},
      {R"({"model": "m", "max_tokens": 5})", "messages: is required"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]})",
       "messages[0].role: unknown role 'system'"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user"}]})",
       "messages[0].content: is required"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "foo"}]}]})",
       "messages[0].content[0].type: unknown block type 'foo'"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "assistant", "content": [{"type": "thinking", "thinking": "x"}]}]})",
       "messages[0].content[0].type: unknown block type 'thinking'"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}]})",
       "messages[0].content[0].source.type: unknown image source type 'file'"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": "x"}]}]})",
       "messages[0].content[0].input: must be an object, got string"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "tool_use"}]}]}]})",
       "messages[0].content[0].content[0].type: block type 'tool_use' is not allowed inside a "
       "tool_result"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "is_error": "yes"}]}]})",
       "messages[0].content[0].is_error: must be a boolean, got string"},
      {R"({"model": "m", "max_tokens": 5, "messages": [], "temperature": 1.2})",
       "temperature: must be between 0 and 1, got 1.2"},
      {R"({"model": "m", "max_tokens": 5, "messages": [], "system": [{"type": "image"}]})",
       "system[0].type: system block type 'image' is not supported"},
      {R"({"model": "m", "max_tokens": 5, "messages": [], "tools": [{"name": "t"}]})",
       "tools[0].input_schema: is required"},
      {R"({"model": "m", "max_tokens": 5, "messages": [], "tools": [{"type": "web_search_20250305", "name": "web_search"}]})",
       "tools[0].type: tool type 'web_search_20250305' is not supported"},
      {R"({"model": "m", "max_tokens": 5, "messages": [], "tool_choice": {"type": "some"}})",
       "tool_choice.type: unknown value 'some'"},
      {R"({"model": "m", "max_tokens": 5, "messages": [], "tool_choice": {"type": "tool"}})",
       "tool_choice.name: is required"},
      {R"({"model": "m", "max_tokens": 5, "messages": [], "stop_sequences": "END"})",
       "stop_sequences: must be an array, got string"},
  };
  for (const auto& [body, error] : cases) {
    absl::StatusOr<ChatRequest> r = ParseChatRequest(json::parse(body));
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(error)) << body;
  }
}

TEST(AnthropicRequest, RendersJsonToolResultsAsTextAndDefaultsMaxTokens) {
  ChatRequest request;
  ContentBlock result;
  result.type = T::kToolResult;
  result.tool_result.tool_use_id = "toolu_1";
  ContentBlock data;
  data.type = T::kJson;
  data.json = {{"rows", 3}};
  result.tool_result.content = {data};
  request.messages.push_back({Role::kUser, {result}});
  request.tool_choice = ToolChoice{ToolChoice::Mode::kNone, ""};
  json body = RenderChatRequest(request);
  EXPECT_EQ(body["max_tokens"], kDefaultMaxTokens);
  EXPECT_EQ(body["messages"][0]["content"][0],
            json::parse(R"({"type": "tool_result", "tool_use_id": "toolu_1",
                            "content": [{"type": "text", "text": "{\"rows\":3}"}]})"));
  EXPECT_EQ(body["tool_choice"], json({{"type", "none"}}));
  EXPECT_FALSE(body.contains("model"));
}

constexpr char kResponse[] = R"json({
  "id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [
    {"type": "thinking", "thinking": "The user wants...", "signature": "EqQB"},
    {"type": "text", "text": "I'll check."},
    {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"location": "SF"}}],
  "stop_reason": "tool_use", "stop_sequence": null,
  "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_read_input_tokens": 0}
})json";

TEST(AnthropicResponse, ParsesAndSkipsThinking) {
  absl::StatusOr<ChatResponse> r = ParseChatResponse(json::parse(kResponse));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, "msg_01Aq9w938a90dw8q");
  EXPECT_EQ(r->model, "claude-sonnet-4-5-20250929");
  ASSERT_EQ(r->content.size(), 2u);
  EXPECT_EQ(r->content[0].text, "I'll check.");
  EXPECT_EQ(r->content[1].tool_use.name, "get_weather");
  EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
  EXPECT_EQ(r->stop_sequence, "");
  EXPECT_EQ(r->usage.input_tokens, 2095);
  EXPECT_EQ(r->usage.output_tokens, 503);
}

TEST(AnthropicResponse, RendersMessage) {
  ChatResponse response;
  response.id = "msg_1";
  response.model = "claude";
  response.content = {ContentBlock::Text("Bonjour")};
  response.stop_reason = StopReason::kStopSequence;
  response.stop_sequence = "END";
  response.usage = {9, 2};
  EXPECT_EQ(RenderChatResponse(response), json::parse(R"({
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
    "content": [{"type": "text", "text": "Bonjour"}], "stop_reason": "stop_sequence",
    "stop_sequence": "END", "usage": {"input_tokens": 9, "output_tokens": 2}})"));
  response.stop_reason = StopReason::kContentFiltered;
  EXPECT_EQ(RenderChatResponse(response)["stop_reason"], "refusal");
}

// The event sequence the Messages streaming docs show for a tool call.
constexpr std::pair<const char*, const char*> kEvents[] = {
    {"message_start",
     R"({"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}})"},
    {"content_block_start",
     R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"},
    {"ping", R"({"type": "ping"})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", let's check"}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
    {"content_block_start",
     R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"San Francisco, CA\"}"}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":1})"},
    {"message_delta",
     R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}})"},
    {"message_stop", R"({"type":"message_stop"})"},
};

ChatDelta Start(int index, bool tool = false, std::string id = "", std::string name = "") {
  ChatDelta d;
  d.type = ChatDelta::Type::kBlockStart;
  d.index = index;
  d.is_tool = tool;
  d.tool_use.id = std::move(id);
  d.tool_use.name = std::move(name);
  return d;
}

ChatDelta Stop(int index) {
  ChatDelta d;
  d.type = ChatDelta::Type::kBlockStop;
  d.index = index;
  return d;
}

TEST(AnthropicStream, ParsesDocumentedToolStream) {
  EventParser parser;
  std::vector<ChatDelta> out;
  for (const auto& [event, data] : kEvents) {
    ASSERT_TRUE(parser.Feed(event, json::parse(data), &out).ok()) << event;
  }
  ASSERT_TRUE(parser.Finish(&out).ok());
  std::vector<ChatDelta> expected = {
      formats::MessageStartDelta("msg_014p7gG3wDgGV9EUtLvnow3U", "claude-sonnet-4-5"),
      Start(0),
      formats::TextDelta(0, "Okay"),
      formats::TextDelta(0, ", let's check"),
      Stop(0),
      Start(1, true, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
      formats::ToolInputDelta(1, "{\"location\":"),
      formats::ToolInputDelta(1, " \"San Francisco, CA\"}"),
      Stop(1),
      formats::MessageStopDelta(StopReason::kToolUse, ""),
      formats::UsageDelta({472, 89})};
  EXPECT_EQ(CanonicalJson(out), CanonicalJson(expected));
}

TEST(AnthropicStream, SkipsThinkingBlocksAndMapsErrors) {
  EventParser parser;
  std::vector<ChatDelta> out;
  ASSERT_TRUE(parser.Feed("message_start", json::parse(kEvents[0].second), &out).ok());
  ASSERT_TRUE(parser
                  .Feed("content_block_start",
                        {{"index", 0}, {"content_block", {{"type", "thinking"}}}}, &out)
                  .ok());
  ASSERT_TRUE(parser
                  .Feed("content_block_delta",
                        {{"index", 0}, {"delta", {{"type", "thinking_delta"}, {"thinking", "hm"}}}},
                        &out)
                  .ok());
  ASSERT_TRUE(parser.Feed("content_block_stop", {{"index", 0}}, &out).ok());
  EXPECT_EQ(out.size(), 1u);  // only message_start
  EXPECT_EQ(parser.Finish(&out).code(), absl::StatusCode::kUnavailable);

  absl::Status overloaded = parser.Feed(
      "error",
      json::parse(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"),
      &out);
  EXPECT_EQ(overloaded.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(overloaded.message()), HasSubstr("Overloaded"));
  EXPECT_EQ(parser.Feed("error", {{"error", {{"type", "rate_limit_error"}}}}, &out).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(AnthropicStream, RendererHoldsTheStopUntilUsage) {
  EventRenderer renderer;
  std::vector<Event> events;
  for (const ChatDelta& d :
       {formats::MessageStartDelta("msg_1", "claude"), Start(0), formats::TextDelta(0, "Hi"),
        Stop(0), formats::MessageStopDelta(StopReason::kEndTurn, "")}) {
    for (Event& e : renderer.Render(d)) events.push_back(std::move(e));
  }
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].first, "message_start");
  EXPECT_EQ(events[0].second["message"]["id"], "msg_1");
  EXPECT_EQ(events[1].second, json::parse(R"({"type":"content_block_start","index":0,
                                              "content_block":{"type":"text","text":""}})"));
  EXPECT_EQ(events[2].second["delta"], json({{"type", "text_delta"}, {"text", "Hi"}}));
  EXPECT_EQ(events[3].first, "content_block_stop");

  std::vector<Event> tail = renderer.Render(formats::UsageDelta({20, 3}));
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].first, "message_delta");
  EXPECT_EQ(tail[0].second, json::parse(R"({"type":"message_delta",
      "delta":{"stop_reason":"end_turn","stop_sequence":null},
      "usage":{"input_tokens":20,"output_tokens":3}})"));
  EXPECT_EQ(tail[1], Event("message_stop", {{"type", "message_stop"}}));
  EXPECT_TRUE(renderer.Finish().empty());
  EXPECT_EQ(EventRenderer::Ping().first, "ping");

  EventRenderer named({.id = "msg_basalt", .model = "alias"});
  json start = named.Render(formats::MessageStartDelta("msg_up", "claude"))[0].second["message"];
  EXPECT_EQ(start["id"], "msg_basalt");
  EXPECT_EQ(start["model"], "alias");
}

TEST(AnthropicStream, FinishFlushesAStopWithoutUsage) {
  EventRenderer renderer;
  renderer.Render(formats::MessageStopDelta(StopReason::kMaxTokens, ""));
  std::vector<Event> tail = renderer.Finish();
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].second["delta"]["stop_reason"], "max_tokens");
}

}  // namespace
}  // namespace basalt::models::anthropic
