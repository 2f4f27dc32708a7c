// Round trips through the three wire formats: canonical → wire → canonical must
// be the identity, except for the few things a format cannot carry, which each
// test names and normalises explicitly (so everything else is checked to survive).
#include <gtest/gtest.h>

#include "models/formats/anthropic_format.h"
#include "models/formats/converse_format.h"
#include "models/formats/format_util.h"
#include "models/formats/openai_format.h"

namespace basalt::models {
namespace {

using formats::CanonicalJson;
using nlohmann::json;
using T = ContentBlock::Type;

// Compares the debug views and prints a JSON patch on mismatch.
void ExpectSame(const json& want, const json& got) {
  EXPECT_EQ(want, got) << "patch from want to got: " << json::diff(want, got).dump(2);
}

ContentBlock Image(std::string media_type, std::string data) {
  ContentBlock b;
  b.type = T::kImage;
  b.image.media_type = std::move(media_type);
  b.image.data = std::move(data);
  return b;
}

ContentBlock JsonBlock(nlohmann::json value) {
  ContentBlock b;
  b.type = T::kJson;
  b.json = std::move(value);
  return b;
}

ContentBlock Result(std::string id, std::vector<ContentBlock> content, bool is_error) {
  ContentBlock b;
  b.type = T::kToolResult;
  b.tool_result = {std::move(id), std::move(content), is_error};
  return b;
}

ChatRequest RichRequest() {
  ChatRequest r;
  r.model = "some-model";
  r.system = "You are terse.\n\nAnswer in French.";
  r.messages = {
      {Role::kUser,
       {ContentBlock::Text("What is in this picture, and the weather in Paris?"),
        Image("image/png", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk")}},
      {Role::kAssistant,
       {ContentBlock::Text("Let me check."),
        ContentBlock::ToolCall({"call_1", "get_weather", {{"city", "Paris"}, {"days", 2}}}),
        ContentBlock::ToolCall({"call_2", "get_time", {{"tz", "Europe/Paris"}}})}},
      {Role::kUser,
       {Result("call_1",
               {ContentBlock::Text("Sunny"), JsonBlock({{"temp_c", 21}, {"wind", nullptr}})},
               false),
        Result("call_2", {ContentBlock::Text("timeout")}, true),
        ContentBlock::Text("Thanks. And tomorrow?")}},
      {Role::kAssistant,
       {ContentBlock::Text("Tomorrow: rain."), ContentBlock::Text("Take a coat.")}},
      {Role::kUser, {ContentBlock::Text("Merci")}},
  };
  r.tools = {
      {"get_weather",
       "Weather forecast for a city",
       {{"type", "object"},
        {"properties", {{"city", {{"type", "string"}}}, {"days", {{"type", "integer"}}}}},
        {"required", {"city"}}}},
      {"get_time", "", {{"type", "object"}, {"properties", {{"tz", {{"type", "string"}}}}}}}};
  r.tool_choice = ToolChoice{ToolChoice::Mode::kTool, "get_weather"};
  r.max_tokens = 512;
  r.temperature = 0.3;
  r.top_p = 0.9;
  r.stop = {"\n\nHuman:", "END"};
  return r;
}

// OpenAI has no tool-result is_error, and carries tool-result JSON as text.
ChatRequest AsOpenAICarriesIt(ChatRequest r) {
  for (Message& m : r.messages) {
    for (ContentBlock& b : m.content) {
      if (b.type != T::kToolResult) continue;
      b.tool_result.is_error = false;
      for (ContentBlock& inner : b.tool_result.content) {
        if (inner.type == T::kJson) inner = ContentBlock::Text(formats::Dump(inner.json));
      }
    }
  }
  return r;
}

// Anthropic has no JSON blocks; they travel as their text.
ChatRequest AsAnthropicCarriesIt(ChatRequest r) {
  for (Message& m : r.messages) {
    for (ContentBlock& b : m.content) {
      for (ContentBlock& inner : b.tool_result.content) {
        if (inner.type == T::kJson) inner = ContentBlock::Text(formats::Dump(inner.json));
      }
    }
  }
  return r;
}

TEST(RoundTrip, RequestThroughOpenAI) {
  for (bool stream : {false, true}) {
    ChatRequest request = RichRequest();
    request.stream = stream;
    request.extra = {{"seed", 7}, {"stream_options", {{"include_usage", true}}}};
    absl::StatusOr<ChatRequest> back = openai::ParseChatRequest(openai::RenderChatRequest(request));
    ASSERT_TRUE(back.ok()) << back.status();
    ExpectSame(CanonicalJson(AsOpenAICarriesIt(request)), CanonicalJson(*back));
  }
}

TEST(RoundTrip, RequestThroughAnthropic) {
  ChatRequest request = RichRequest();
  request.stream = true;
  request.extra = {{"top_k", 40}, {"metadata", {{"user_id", "u"}}}};
  absl::StatusOr<ChatRequest> back =
      anthropic::ParseChatRequest(anthropic::RenderChatRequest(request));
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSame(CanonicalJson(AsAnthropicCarriesIt(request)), CanonicalJson(*back));
}

TEST(RoundTrip, RequestThroughConverseIsExact) {
  ChatRequest request = RichRequest();
  request.extra = {{"additionalModelRequestFields", {{"top_k", 40}}}};
  absl::StatusOr<ChatRequest> back =
      converse::ParseChatRequest(converse::RenderChatRequest(request));
  ASSERT_TRUE(back.ok()) << back.status();
  back->model = request.model;  // Converse carries the model in the URL
  ExpectSame(CanonicalJson(request), CanonicalJson(*back));
}

TEST(RoundTrip, ToolChoiceModesSurviveWhereTheFormatHasThem) {
  for (ToolChoice::Mode mode : {ToolChoice::Mode::kAuto, ToolChoice::Mode::kAny,
                                ToolChoice::Mode::kNone, ToolChoice::Mode::kTool}) {
    ChatRequest request = RichRequest();
    request.tool_choice->mode = mode;
    if (mode != ToolChoice::Mode::kTool) request.tool_choice->name.clear();
    absl::StatusOr<ChatRequest> o = openai::ParseChatRequest(openai::RenderChatRequest(request));
    absl::StatusOr<ChatRequest> a =
        anthropic::ParseChatRequest(anthropic::RenderChatRequest(request));
    absl::StatusOr<ChatRequest> c =
        converse::ParseChatRequest(converse::RenderChatRequest(request));
    ASSERT_TRUE(o.ok() && a.ok() && c.ok());
    EXPECT_EQ(CanonicalJson(*o)["tool_choice"], CanonicalJson(request)["tool_choice"]);
    EXPECT_EQ(CanonicalJson(*a)["tool_choice"], CanonicalJson(request)["tool_choice"]);
    // Converse has no "none"; the history holds tool blocks, so it renders as auto.
    if (mode == ToolChoice::Mode::kNone) {
      EXPECT_FALSE(c->tool_choice.has_value());
    } else {
      EXPECT_EQ(CanonicalJson(*c)["tool_choice"], CanonicalJson(request)["tool_choice"]);
    }
  }
}

TEST(RoundTrip, OpenAIUserTurnsWithToolResultsStayOneTurn) {
  // Tool results between other blocks, in any order, come back as the same turn.
  ChatRequest request;
  request.model = "m";
  request.messages = {
      {Role::kAssistant,
       {ContentBlock::ToolCall({"a", "f", json::object()}),
        ContentBlock::ToolCall({"b", "f", json::object()})}},
      {Role::kUser,
       {ContentBlock::Text("before"), Result("a", {}, false), ContentBlock::Text("between"),
        Result("b", {ContentBlock::Text("x"), ContentBlock::Text("y")}, false),
        ContentBlock::Text("after")}},
      {Role::kUser, {ContentBlock::Text("a separate turn")}},
  };
  absl::StatusOr<ChatRequest> back = openai::ParseChatRequest(openai::RenderChatRequest(request));
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSame(CanonicalJson(request), CanonicalJson(*back));

  // The documented limit: a user turn that ENDS in a tool result, followed by
  // another user turn, comes back as one turn (OpenAI has no turn boundary there).
  request.messages[1].content.pop_back();
  back = openai::ParseChatRequest(openai::RenderChatRequest(request));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->messages.size(), 2u);
  EXPECT_EQ(back->messages[1].content.back().text, "a separate turn");
}

// Anthropic → canonical → Converse → canonical → OpenAI → canonical.
TEST(RoundTrip, AcrossAllThreeFormats) {
  const json anthropic_body = json::parse(R"json({
    "model": "claude-x", "max_tokens": 300, "temperature": 0.2, "top_p": 0.8,
    "system": "Be helpful.", "stop_sequences": ["STOP"],
    "tools": [{"name": "search", "description": "Search the web",
               "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}],
    "tool_choice": {"type": "any"},
    "messages": [
      {"role": "user", "content": [
        {"type": "text", "text": "Find news about otters."},
        {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lGODlh"}}]},
      {"role": "assistant", "content": [
        {"type": "text", "text": "Searching."},
        {"type": "tool_use", "id": "toolu_9", "name": "search", "input": {"q": "otters"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_9",
         "content": [{"type": "text", "text": "Otters hold hands."}, {"type": "text", "text": "2 results"}]},
        {"type": "tool_result", "tool_use_id": "toolu_10", "content": "quota exceeded", "is_error": true},
        {"type": "text", "text": "Summarise."}]}
    ]})json");
  absl::StatusOr<ChatRequest> from_anthropic = anthropic::ParseChatRequest(anthropic_body);
  ASSERT_TRUE(from_anthropic.ok()) << from_anthropic.status();

  absl::StatusOr<ChatRequest> via_converse =
      converse::ParseChatRequest(converse::RenderChatRequest(*from_anthropic));
  ASSERT_TRUE(via_converse.ok()) << via_converse.status();
  via_converse->model = from_anthropic->model;  // from the URL
  ExpectSame(CanonicalJson(*from_anthropic), CanonicalJson(*via_converse));

  absl::StatusOr<ChatRequest> via_openai =
      openai::ParseChatRequest(openai::RenderChatRequest(*via_converse));
  ASSERT_TRUE(via_openai.ok()) << via_openai.status();
  ExpectSame(CanonicalJson(AsOpenAICarriesIt(*from_anthropic)), CanonicalJson(*via_openai));

  // And back to Anthropic: the same body (content now always in block form).
  json again = anthropic::RenderChatRequest(*via_openai);
  EXPECT_EQ(again["messages"][2]["content"][0]["content"],
            anthropic_body["messages"][2]["content"][0]["content"]);
  EXPECT_EQ(again["tools"], anthropic_body["tools"]);
}

ChatResponse RichResponse() {
  ChatResponse r;
  r.id = "msg_123";
  r.model = "upstream-model";
  r.content = {ContentBlock::Text("Here you go."),
               ContentBlock::ToolCall({"call_7", "lookup", {{"q", "otters"}, {"limit", 3}}})};
  r.stop_reason = StopReason::kToolUse;
  r.usage = {120, 45};
  return r;
}

TEST(RoundTrip, ResponseThroughAllThree) {
  ChatResponse response = RichResponse();
  absl::StatusOr<ChatResponse> o =
      openai::ParseChatResponse(openai::RenderChatResponse(response, 1700000000));
  ASSERT_TRUE(o.ok()) << o.status();
  ExpectSame(CanonicalJson(response), CanonicalJson(*o));

  absl::StatusOr<ChatResponse> a =
      anthropic::ParseChatResponse(anthropic::RenderChatResponse(response));
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectSame(CanonicalJson(response), CanonicalJson(*a));

  absl::StatusOr<ChatResponse> c =
      converse::ParseChatResponse(converse::RenderChatResponse(response, 5));
  ASSERT_TRUE(c.ok()) << c.status();
  ChatResponse no_ids = response;  // Converse answers carry no id or model
  no_ids.id.clear();
  no_ids.model.clear();
  ExpectSame(CanonicalJson(no_ids), CanonicalJson(*c));
}

TEST(RoundTrip, ResponseStopSequences) {
  ChatResponse response = RichResponse();
  response.content = {ContentBlock::Text("one two")};
  response.stop_reason = StopReason::kStopSequence;
  response.stop_sequence = "three";
  absl::StatusOr<ChatResponse> a =
      anthropic::ParseChatResponse(anthropic::RenderChatResponse(response));
  absl::StatusOr<ChatResponse> c =
      converse::ParseChatResponse(converse::RenderChatResponse(response, 5));
  absl::StatusOr<ChatResponse> o =
      openai::ParseChatResponse(openai::RenderChatResponse(response, 1));
  ASSERT_TRUE(a.ok() && c.ok() && o.ok());
  EXPECT_EQ(a->stop_reason, StopReason::kStopSequence);
  EXPECT_EQ(a->stop_sequence, "three");
  EXPECT_EQ(c->stop_reason, StopReason::kStopSequence);
  EXPECT_EQ(c->stop_sequence, "three");
  // OpenAI says only "stop".
  EXPECT_EQ(o->stop_reason, StopReason::kEndTurn);
  EXPECT_EQ(o->stop_sequence, "");
  for (StopReason reason : {StopReason::kEndTurn, StopReason::kMaxTokens, StopReason::kToolUse,
                            StopReason::kContentFiltered}) {
    response.stop_reason = reason;
    EXPECT_EQ(anthropic::ParseChatResponse(anthropic::RenderChatResponse(response))->stop_reason,
              reason);
    EXPECT_EQ(converse::ParseChatResponse(converse::RenderChatResponse(response, 0))->stop_reason,
              reason);
    EXPECT_EQ(openai::ParseChatResponse(openai::RenderChatResponse(response, 0))->stop_reason,
              reason);
  }
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

std::vector<ChatDelta> CanonicalStream() {
  return {formats::MessageStartDelta("msg_42", "upstream-model"),
          Start(0),
          formats::TextDelta(0, "Let me "),
          formats::TextDelta(0, "look that up."),
          Stop(0),
          Start(1, true, "call_1", "lookup"),
          formats::ToolInputDelta(1, "{\"q\": \"ot"),
          formats::ToolInputDelta(1, "ters\", \"limit\": 3}"),
          Stop(1),
          formats::MessageStopDelta(StopReason::kToolUse, ""),
          formats::UsageDelta({31, 17})};
}

TEST(RoundTrip, StreamThroughOpenAI) {
  openai::ChunkRenderer::Options options;  // id and model from the kMessageStart delta
  options.include_usage = true;
  openai::ChunkRenderer renderer(options);
  openai::ChunkParser parser;
  std::vector<ChatDelta> out;
  for (const ChatDelta& d : CanonicalStream()) {
    for (const json& chunk : renderer.Render(d)) {
      // Through the wire text, as an SSE data line would carry it.
      ASSERT_TRUE(parser.Feed(json::parse(chunk.dump()), &out).ok());
    }
  }
  ASSERT_TRUE(parser.Finish(&out).ok());
  ExpectSame(CanonicalJson(CanonicalStream()), CanonicalJson(out));
}

TEST(RoundTrip, StreamThroughAnthropic) {
  anthropic::EventRenderer renderer;
  anthropic::EventParser parser;
  std::vector<ChatDelta> out;
  std::vector<anthropic::Event> events;
  for (const ChatDelta& d : CanonicalStream()) {
    for (anthropic::Event& e : renderer.Render(d)) events.push_back(std::move(e));
  }
  for (anthropic::Event& e : renderer.Finish()) events.push_back(std::move(e));
  for (const anthropic::Event& e : events) {
    ASSERT_TRUE(parser.Feed(e.first, json::parse(e.second.dump()), &out).ok()) << e.first;
  }
  ASSERT_TRUE(parser.Finish(&out).ok());
  ExpectSame(CanonicalJson(CanonicalStream()), CanonicalJson(out));
}

TEST(RoundTrip, StreamThroughConverse) {
  converse::EventRenderer renderer;
  converse::EventParser parser;
  std::vector<ChatDelta> out;
  for (const ChatDelta& d : CanonicalStream()) {
    for (const converse::Event& e : renderer.Render(d, 250)) {
      ASSERT_TRUE(parser.Feed(e.first, json::parse(e.second.dump()), &out).ok()) << e.first;
    }
  }
  ASSERT_TRUE(parser.Finish(&out).ok());
  std::vector<ChatDelta> expected = CanonicalStream();
  expected[0] = formats::MessageStartDelta("", "");  // the stream carries no id or model
  ExpectSame(CanonicalJson(expected), CanonicalJson(out));
}

TEST(RoundTrip, StreamStopSequenceThroughAnthropicAndConverse) {
  std::vector<ChatDelta> stream = {formats::MessageStartDelta("", ""),
                                   Start(0),
                                   formats::TextDelta(0, "a"),
                                   Stop(0),
                                   formats::MessageStopDelta(StopReason::kStopSequence, "###"),
                                   formats::UsageDelta({1, 1})};
  anthropic::EventRenderer a_renderer;
  anthropic::EventParser a_parser;
  converse::EventRenderer c_renderer;
  converse::EventParser c_parser;
  std::vector<ChatDelta> a_out, c_out;
  for (const ChatDelta& d : stream) {
    for (const anthropic::Event& e : a_renderer.Render(d)) {
      ASSERT_TRUE(a_parser.Feed(e.first, e.second, &a_out).ok());
    }
    for (const converse::Event& e : c_renderer.Render(d)) {
      ASSERT_TRUE(c_parser.Feed(e.first, e.second, &c_out).ok());
    }
  }
  ExpectSame(CanonicalJson(stream), CanonicalJson(a_out));
  ExpectSame(CanonicalJson(stream), CanonicalJson(c_out));
}

}  // namespace
}  // namespace basalt::models
