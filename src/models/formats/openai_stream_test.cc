#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/formats/format_util.h"
#include "models/formats/openai_format.h"

namespace basalt::models::openai {
namespace {

using formats::CanonicalJson;
using nlohmann::json;
using ::testing::HasSubstr;

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

std::vector<json> RenderAll(ChunkRenderer& renderer, const std::vector<ChatDelta>& deltas) {
  std::vector<json> chunks;
  for (const ChatDelta& d : deltas) {
    for (json& c : renderer.Render(d)) chunks.push_back(std::move(c));
  }
  return chunks;
}

TEST(OpenAIChunkRenderer, RendersTheOpenAIChunkShapes) {
  ChunkRenderer renderer(
      {.id = "chatcmpl-7", .model = "alias", .created = 1700000000, .include_usage = true});
  std::vector<json> chunks =
      RenderAll(renderer, {formats::MessageStartDelta("upstream-id", "upstream-model"), Start(0),
                           formats::TextDelta(0, "Hi"), Stop(0), Start(1, true, "call_1", "lookup"),
                           formats::ToolInputDelta(1, "{\"q\":"), formats::ToolInputDelta(1, "1}"),
                           Stop(1), formats::MessageStopDelta(StopReason::kToolUse, ""),
                           formats::UsageDelta({12, 5})});
  auto chunk = [](json delta, json finish) {
    return json{
        {"id", "chatcmpl-7"},
        {"object", "chat.completion.chunk"},
        {"created", 1700000000},
        {"model", "alias"},
        {"usage", nullptr},
        {"choices",
         {{{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", finish}}}}};
  };
  std::vector<json> expected = {
      chunk({{"role", "assistant"}, {"content", ""}}, nullptr),
      chunk({{"content", "Hi"}}, nullptr),
      chunk({{"tool_calls",
              {{{"index", 0},
                {"id", "call_1"},
                {"type", "function"},
                {"function", {{"name", "lookup"}, {"arguments", ""}}}}}}},
            nullptr),
      chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "{\"q\":"}}}}}}}, nullptr),
      chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "1}"}}}}}}}, nullptr),
      chunk(json::object(), "tool_calls"),
      {{"id", "chatcmpl-7"},
       {"object", "chat.completion.chunk"},
       {"created", 1700000000},
       {"model", "alias"},
       {"choices", json::array()},
       {"usage", {{"prompt_tokens", 12}, {"completion_tokens", 5}, {"total_tokens", 17}}}}};
  ASSERT_EQ(chunks.size(), expected.size());
  for (size_t i = 0; i < chunks.size(); ++i) EXPECT_EQ(chunks[i], expected[i]) << i;
}

TEST(OpenAIChunkRenderer, WithoutIncludeUsageNoUsageChunkAndIdsFromTheStream) {
  ChunkRenderer renderer({});
  std::vector<json> chunks =
      RenderAll(renderer, {formats::MessageStartDelta("chatcmpl-up", "gpt-x"),
                           formats::MessageStopDelta(StopReason::kMaxTokens, ""),
                           formats::UsageDelta({1, 1})});
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0]["id"], "chatcmpl-up");
  EXPECT_EQ(chunks[0]["model"], "gpt-x");
  EXPECT_FALSE(chunks[0].contains("usage"));
  EXPECT_EQ(chunks[1]["choices"][0]["finish_reason"], "length");
}

// Chunks as OpenAI streams two parallel tool calls after some text, then the
// include_usage chunk.
constexpr const char* kUpstreamChunks[] = {
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Let me "},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"check."},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"weather","arguments":""}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Oslo\"}"}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"weather","arguments":"{\"city\""}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":": \"Rome\"}"}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":30,"completion_tokens":41,"total_tokens":71}})",
};

TEST(OpenAIChunkParser, SynthesisesTheCanonicalSequence) {
  ChunkParser parser;
  std::vector<ChatDelta> out;
  for (const char* chunk : kUpstreamChunks) {
    ASSERT_TRUE(parser.Feed(json::parse(chunk), &out).ok()) << chunk;
  }
  const size_t before_finish = out.size();
  ASSERT_TRUE(parser.Finish(&out).ok());
  EXPECT_EQ(out.size(), before_finish) << "usage was already emitted by the usage chunk";

  std::vector<ChatDelta> expected = {formats::MessageStartDelta("chatcmpl-9", "gpt-4o"),
                                     Start(0),
                                     formats::TextDelta(0, "Let me "),
                                     formats::TextDelta(0, "check."),
                                     Stop(0),
                                     Start(1, true, "call_a", "weather"),
                                     formats::ToolInputDelta(1, "{\"city\": \"Oslo\"}"),
                                     Stop(1),
                                     Start(2, true, "call_b", "weather"),
                                     formats::ToolInputDelta(2, "{\"city\""),
                                     formats::ToolInputDelta(2, ": \"Rome\"}"),
                                     Stop(2),
                                     formats::MessageStopDelta(StopReason::kToolUse, ""),
                                     formats::UsageDelta({30, 41})};
  EXPECT_EQ(CanonicalJson(out), CanonicalJson(expected));
}

TEST(OpenAIChunkParser, UsageWithoutAUsageChunkComesAtFinish) {
  ChunkParser parser;
  std::vector<ChatDelta> out;
  // Some servers put usage on the finish chunk itself.
  ASSERT_TRUE(parser
                  .Feed(json::parse(R"({"id":"x","model":"m","choices":[{"index":0,
      "delta":{"content":"ok"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,
      "completion_tokens":1}})"),
                        &out)
                  .ok());
  ASSERT_TRUE(parser.Finish(&out).ok());
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[4].stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(out[5].type, ChatDelta::Type::kUsage);
  EXPECT_EQ(out[5].usage.input_tokens, 3);
}

TEST(OpenAIChunkParser, ErrorsAndTruncation) {
  {
    ChunkParser parser;
    std::vector<ChatDelta> out;
    absl::Status s = parser.Feed(json::parse(R"({"error":{"message":"overloaded"}})"), &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(s.message()), HasSubstr("overloaded"));
  }
  {
    ChunkParser parser;
    std::vector<ChatDelta> out;
    ASSERT_TRUE(parser.Feed(json::parse(kUpstreamChunks[1]), &out).ok());
    absl::Status s = parser.Finish(&out);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(s.message()), HasSubstr("before a finish_reason"));
  }
  {
    ChunkParser parser;
    std::vector<ChatDelta> out;
    EXPECT_EQ(parser.Finish(&out).code(), absl::StatusCode::kUnavailable);
  }
}

}  // namespace
}  // namespace basalt::models::openai
