#include "models/formats/converse_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace basalt::models::converse {
namespace {

using formats::CanonicalJson;
using nlohmann::json;
using ::testing::HasSubstr;
using T = ContentBlock::Type;

// What boto3's bedrock-runtime client sends for converse(...) with a tool loop:
// blobs are base64 in the JSON body, modelId is in the URL.
constexpr char kBoto3Request[] = R"json({
  "messages": [
    {"role": "user", "content": [
      {"text": "What is the most popular song on WZPZ?"},
      {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgoAAAANSUhEUg=="}}},
      {"cachePoint": {"type": "default"}}]},
    {"role": "assistant", "content": [
      {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song",
                   "input": {"sign": "WZPZ"}}}]},
    {"role": "user", "content": [
      {"toolResult": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                      "content": [{"json": {"song": "Elemental Hotel", "artist": "8 Storey Hike"}},
                                  {"text": "from the station database"}]}},
      {"toolResult": {"toolUseId": "tooluse_2", "content": [{"text": "Station not found"}],
                      "status": "error"}}]}
  ],
  "system": [{"text": "You are a radio DJ."}, {"text": "Be upbeat."}],
  "inferenceConfig": {"maxTokens": 512, "temperature": 0.5, "topP": 0.9,
                      "stopSequences": ["Human:"]},
  "toolConfig": {
    "tools": [{"toolSpec": {"name": "top_song", "description": "Get the most popular song played on a radio station.",
               "inputSchema": {"json": {"type": "object",
                 "properties": {"sign": {"type": "string", "description": "The call sign"}},
                 "required": ["sign"]}}}}],
    "toolChoice": {"any": {}}},
  "additionalModelRequestFields": {"top_k": 200},
  "additionalModelResponseFieldPaths": ["/stop_sequence"]
})json";

TEST(ConverseRequest, ParsesBoto3Body) {
  absl::StatusOr<ChatRequest> r = ParseChatRequest(json::parse(kBoto3Request));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->model, "");  // from the URL
  EXPECT_FALSE(r->stream);
  EXPECT_EQ(r->system, "You are a radio DJ.\n\nBe upbeat.");
  ASSERT_EQ(r->messages.size(), 3u);
  ASSERT_EQ(r->messages[0].content.size(), 2u) << "cachePoint is skipped";
  EXPECT_EQ(r->messages[0].content[1].image.media_type, "image/png");
  EXPECT_EQ(r->messages[0].content[1].image.data, "iVBORw0KGgoAAAANSUhEUg==");
  EXPECT_EQ(r->messages[1].content[0].tool_use.id, "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q");
  EXPECT_EQ(r->messages[1].content[0].tool_use.input, json({{"sign", "WZPZ"}}));
  const ToolResult& ok = r->messages[2].content[0].tool_result;
  ASSERT_EQ(ok.content.size(), 2u);
  EXPECT_EQ(ok.content[0].type, T::kJson);
  EXPECT_EQ(ok.content[0].json["song"], "Elemental Hotel");
  EXPECT_EQ(ok.content[1].text, "from the station database");
  EXPECT_FALSE(ok.is_error);
  EXPECT_TRUE(r->messages[2].content[1].tool_result.is_error);
  EXPECT_EQ(r->max_tokens, 512);
  EXPECT_EQ(r->temperature, 0.5);
  EXPECT_EQ(r->top_p, 0.9);
  EXPECT_EQ(r->stop, std::vector<std::string>{"Human:"});
  ASSERT_EQ(r->tools.size(), 1u);
  EXPECT_EQ(r->tools[0].input_schema["required"], json::array({"sign"}));
  EXPECT_EQ(r->tool_choice->mode, ToolChoice::Mode::kAny);
  EXPECT_EQ(r->extra, json({{"additionalModelRequestFields", {{"top_k", 200}}},
                            {"additionalModelResponseFieldPaths", {"/stop_sequence"}}}));
}

TEST(ConverseRequest, ValidationErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({})", "messages: is required"},
      {R"({"messages": [{"role": "system", "content": []}]})",
       "messages[0].role: unknown role 'system'"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content: is required"},
      {R"({"messages": [{"role": "user", "content": [{"video": {}}]}]})",
       "messages[0].content[0]: unknown block type 'video'"},
      {R"({"messages": [{"role": "user", "content": [{}]}]})",
       "messages[0].content[0]: empty content block"},
      {R"({"messages": [{"role": "user", "content": [{"image": {"format": "bmp", "source": {"bytes": "AA"}}}]}]})",
       "messages[0].content[0].image.format: unknown image format 'bmp'"},
      {R"({"messages": [{"role": "user", "content": [{"image": {"format": "png", "source": {}}}]}]})",
       "messages[0].content[0].image.source: must hold bytes or s3Location"},
      {R"({"messages": [{"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "input": {}}}]}]})",
       "messages[0].content[0].toolUse.name: is required"},
      {R"({"messages": [{"role": "user", "content": [{"toolResult": {"toolUseId": "t", "content": [], "status": "ok"}}]}]})",
       "messages[0].content[0].toolResult.status: unknown value 'ok'"},
      {R"({"messages": [{"role": "user", "content": [{"toolResult": {"toolUseId": "t", "content": [{"video": {}}]}}]}]})",
       "messages[0].content[0].toolResult.content[0]: unknown tool result block type 'video'"},
      {R"({"messages": [], "inferenceConfig": {"maxTokens": 0}})",
       "inferenceConfig.maxTokens: must be >= 1"},
      {R"({"messages": [], "inferenceConfig": {"temperature": 1.5}})",
       "inferenceConfig.temperature: must be between 0 and 1"},
      {R"({"messages": [], "inferenceConfig": {"topP": -0.1}})",
       "inferenceConfig.topP: must be between 0 and 1"},
      {R"({"messages": [], "toolConfig": {}})", "toolConfig.tools: is required"},
      {R"({"messages": [], "toolConfig": {"tools": [{"toolSpec": {"name": "x"}}]}})",
       "toolConfig.tools[0].toolSpec.inputSchema: is required"},
      {R"({"messages": [], "toolConfig": {"tools": [], "toolChoice": {"none": {}}}})",
       "toolConfig.toolChoice: unknown tool choice 'none'"},
      {R"({"messages": [], "system": "hi"})", "system: must be an array"},
  };
  for (const auto& [body, error] : cases) {
    absl::StatusOr<ChatRequest> r = ParseChatRequest(json::parse(body));
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(error)) << body;
  }
}

ChatRequest WithImageUrl(std::string url) {
  ChatRequest request;
  ContentBlock image;
  image.type = T::kImage;
  image.image.url = std::move(url);
  request.messages.push_back({Role::kUser, {ContentBlock::Text("look"), image}});
  return request;
}

TEST(ConverseRequest, ImagesByUrl) {
  absl::Status remote = CheckRenderable(WithImageUrl("https://example.com/cat.jpg"));
  EXPECT_EQ(remote.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(remote.message()), HasSubstr("messages[0].content[1].image"));

  EXPECT_TRUE(CheckRenderable(WithImageUrl("s3://bucket/cat.jpg")).ok());
  EXPECT_EQ(RenderChatRequest(WithImageUrl("s3://bucket/cat.jpg"))["messages"][0]["content"][1],
            json::parse(R"({"image": {"format": "jpeg",
                             "source": {"s3Location": {"uri": "s3://bucket/cat.jpg"}}}})"));
  // A data: URL is inlined as bytes.
  EXPECT_TRUE(CheckRenderable(WithImageUrl("data:image/webp;base64,UklG")).ok());
  EXPECT_EQ(
      RenderChatRequest(WithImageUrl("data:image/webp;base64,UklG"))["messages"][0]["content"][1],
      json::parse(R"({"image": {"format": "webp", "source": {"bytes": "UklG"}}})"));
}

TEST(ConverseRequest, ToolChoiceNoneLeavesToolsOut) {
  ChatRequest request;
  request.messages.push_back({Role::kUser, {ContentBlock::Text("hi")}});
  request.tools.push_back({"lookup", "", {{"type", "object"}}});
  request.tool_choice = ToolChoice{ToolChoice::Mode::kNone, ""};
  EXPECT_FALSE(RenderChatRequest(request).contains("toolConfig"));
  // With tool blocks in the history Converse needs toolConfig: rendered as auto.
  request.messages.push_back({Role::kAssistant, {ContentBlock::ToolCall({"t1", "lookup", {}})}});
  json body = RenderChatRequest(request);
  ASSERT_TRUE(body.contains("toolConfig"));
  EXPECT_FALSE(body["toolConfig"].contains("toolChoice"));
}

constexpr char kResponse[] = R"json({
  "output": {"message": {"role": "assistant", "content": [
    {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "x"}}},
    {"text": "Checking the charts."},
    {"toolUse": {"toolUseId": "tooluse_1", "name": "top_song", "input": {"sign": "WZPZ"}}}]}},
  "stopReason": "tool_use",
  "usage": {"inputTokens": 125, "outputTokens": 60, "totalTokens": 185},
  "metrics": {"latencyMs": 1375}
})json";

TEST(ConverseResponse, ParsesAndRenders) {
  absl::StatusOr<ChatResponse> r = ParseChatResponse(json::parse(kResponse));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->content.size(), 2u);
  EXPECT_EQ(r->content[0].text, "Checking the charts.");
  EXPECT_EQ(r->content[1].tool_use.name, "top_song");
  EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
  EXPECT_EQ(r->usage.input_tokens, 125);

  json rendered = RenderChatResponse(*r, 1375);
  json expected = json::parse(kResponse);
  expected["output"]["message"]["content"].erase(0);
  EXPECT_EQ(rendered, expected);
}

TEST(ConverseResponse, StopReasons) {
  EXPECT_EQ(StopReasonFromWire("guardrail_intervened"), StopReason::kContentFiltered);
  EXPECT_EQ(StopReasonFromWire("content_filtered"), StopReason::kContentFiltered);
  EXPECT_EQ(StopReasonFromWire("model_context_window_exceeded"), StopReason::kMaxTokens);
  EXPECT_EQ(StopReasonFromWire("stop_sequence"), StopReason::kStopSequence);
  json body = json::parse(kResponse);
  body.erase("stopReason");
  EXPECT_EQ(ParseChatResponse(body).status().code(), absl::StatusCode::kUnavailable);
}

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

// ConverseStream events as Bedrock sends them (with the "p" padding field).
constexpr std::pair<const char*, const char*> kEvents[] = {
    {"messageStart", R"({"p": "abcdefgh", "role": "assistant"})"},
    {"contentBlockDelta", R"({"contentBlockIndex": 0, "delta": {"text": "Let me"}, "p": "ab"})"},
    {"contentBlockDelta", R"({"contentBlockIndex": 0, "delta": {"text": " look."}})"},
    {"contentBlockStop", R"({"contentBlockIndex": 0})"},
    {"contentBlockStart",
     R"({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_Z", "name": "top_song"}}})"},
    {"contentBlockDelta",
     R"({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"sign\": "}}})"},
    {"contentBlockDelta",
     R"({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "\"WZPZ\"}"}}})"},
    {"contentBlockStop", R"({"contentBlockIndex": 1})"},
    {"contentBlockStop", R"({"contentBlockIndex": 2})"},
    {"messageStop", R"({"stopReason": "tool_use"})"},
    {"metadata",
     R"({"usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 42}, "metrics": {"latencyMs": 812}})"},
};

TEST(ConverseStream, ParsesBedrockEvents) {
  EventParser parser;
  std::vector<ChatDelta> out;
  for (const auto& [event, payload] : kEvents) {
    ASSERT_TRUE(parser.Feed(event, json::parse(payload), &out).ok()) << event;
  }
  ASSERT_TRUE(parser.Finish(&out).ok());
  std::vector<ChatDelta> expected = {formats::MessageStartDelta("", ""),
                                     Start(0),
                                     formats::TextDelta(0, "Let me"),
                                     formats::TextDelta(0, " look."),
                                     Stop(0),
                                     Start(1, true, "tooluse_Z", "top_song"),
                                     formats::ToolInputDelta(1, "{\"sign\": "),
                                     formats::ToolInputDelta(1, "\"WZPZ\"}"),
                                     Stop(1),
                                     Start(2),  // an empty text block: stop without deltas
                                     Stop(2),
                                     formats::MessageStopDelta(StopReason::kToolUse, ""),
                                     formats::UsageDelta({30, 12})};
  EXPECT_EQ(CanonicalJson(out), CanonicalJson(expected));
}

TEST(ConverseStream, ExceptionsAndTruncation) {
  EventParser parser;
  std::vector<ChatDelta> out;
  absl::Status throttled =
      parser.Feed("throttlingException", {{"message", "Too many requests"}}, &out);
  EXPECT_EQ(throttled.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(throttled.message()), HasSubstr("Too many requests"));
  EXPECT_EQ(parser.Feed("modelStreamErrorException", json::object(), &out).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(parser.Feed("validationException", json::object(), &out).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(parser.Feed("messageStart", {{"role", "assistant"}}, &out).ok());
  EXPECT_EQ(parser
                .Feed("contentBlockDelta",
                      {{"contentBlockIndex", 0}, {"delta", {{"toolUse", {{"input", "{"}}}}}}, &out)
                .code(),
            absl::StatusCode::kUnavailable)
      << "tool input without a contentBlockStart";
  EXPECT_EQ(parser.Finish(&out).code(), absl::StatusCode::kUnavailable);
}

TEST(ConverseStream, RendersAwsEventShapes) {
  EventRenderer renderer;
  std::vector<Event> events;
  for (const ChatDelta& d :
       {formats::MessageStartDelta("id", "model"), Start(0), formats::TextDelta(0, "Hi"), Stop(0),
        Start(1, true, "tooluse_1", "f"), formats::ToolInputDelta(1, "{}"), Stop(1),
        formats::MessageStopDelta(StopReason::kStopSequence, "END"), formats::UsageDelta({4, 2})}) {
    for (Event& e : renderer.Render(d, 99)) events.push_back(std::move(e));
  }
  std::vector<Event> expected = {
      {"messageStart", {{"role", "assistant"}}},
      {"contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"text", "Hi"}}}}},
      {"contentBlockStop", {{"contentBlockIndex", 0}}},
      {"contentBlockStart",
       {{"contentBlockIndex", 1},
        {"start", {{"toolUse", {{"toolUseId", "tooluse_1"}, {"name", "f"}}}}}}},
      {"contentBlockDelta",
       {{"contentBlockIndex", 1}, {"delta", {{"toolUse", {{"input", "{}"}}}}}}},
      {"contentBlockStop", {{"contentBlockIndex", 1}}},
      {"messageStop",
       {{"stopReason", "stop_sequence"},
        {"additionalModelResponseFields", {{"stop_sequence", "END"}}}}},
      {"metadata",
       {{"usage", {{"inputTokens", 4}, {"outputTokens", 2}, {"totalTokens", 6}}},
        {"metrics", {{"latencyMs", 99}}}}}};
  EXPECT_EQ(events, expected);
}

}  // namespace
}  // namespace basalt::models::converse
