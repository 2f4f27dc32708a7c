#include "models/builtin/chat_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace basalt::models::builtin {
namespace {

using ::testing::ElementsAre;
using Type = ChatDelta::Type;

TEST(ChatStream, WordPiecesConcatenateToTheText) {
  EXPECT_THAT(WordPieces("Paris is  big."), ElementsAre("Paris", " is", "  big."));
  EXPECT_THAT(WordPieces(" lead\ttrail "), ElementsAre(" lead", "\ttrail", " "));
  EXPECT_TRUE(WordPieces("").empty());
}

TEST(ChatStream, JsonFragmentsKeepUtf8CharactersWhole) {
  const std::string text = "{\"k\":\"\xE2\x82\xAC\xE2\x82\xAC\"}";  // 14 bytes
  const auto pieces = JsonFragments(text, 7);
  std::string joined;
  for (auto p : pieces) {
    EXPECT_LE(p.size(), 7u);
    joined += p;
  }
  EXPECT_EQ(joined, text);
  EXPECT_THAT(pieces, ElementsAre("{\"k\":\"", "\xE2\x82\xAC\xE2\x82\xAC\"", "}"));
  EXPECT_EQ(JsonFragments("\xE2\x82\xAC", 1).size(), 1u);  // longer only to finish a character
}

TEST(ChatStream, TextResponseBecomesTheCanonicalSequence) {
  ChatResponse r;
  r.id = "msg_1";
  r.model = "builtin-chat";
  r.content.push_back(ContentBlock::Text("Berlin is big."));
  r.stop_reason = StopReason::kMaxTokens;
  r.usage = {7, 4};
  const auto deltas = ToDeltas(r);
  std::vector<Type> types;
  std::string text;
  for (const auto& d : deltas) {
    types.push_back(d.type);
    if (d.type == Type::kTextDelta) text += d.text;
  }
  EXPECT_THAT(
      types, ElementsAre(Type::kMessageStart, Type::kBlockStart, Type::kTextDelta, Type::kTextDelta,
                         Type::kTextDelta, Type::kBlockStop, Type::kMessageStop, Type::kUsage));
  EXPECT_EQ(text, "Berlin is big.");
  EXPECT_EQ(deltas[0].id, "msg_1");
  EXPECT_EQ(deltas[0].model, "builtin-chat");
  EXPECT_EQ(deltas[0].usage.input_tokens, 7);
  EXPECT_FALSE(deltas[1].is_tool);
  EXPECT_EQ(deltas[6].stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(deltas[7].usage.input_tokens, 7);
  EXPECT_EQ(deltas[7].usage.output_tokens, 4);
}

TEST(ChatStream, ToolResponseStreamsInputFragments) {
  ChatResponse r;
  r.content.push_back(
      ContentBlock::ToolCall({"toolu_1", "search", {{"query", "a long query text"}}}));
  r.stop_reason = StopReason::kToolUse;
  const auto deltas = ToDeltas(r);
  ASSERT_GE(deltas.size(), 6u);
  EXPECT_EQ(deltas[1].type, Type::kBlockStart);
  EXPECT_TRUE(deltas[1].is_tool);
  EXPECT_EQ(deltas[1].tool_use.id, "toolu_1");
  EXPECT_EQ(deltas[1].tool_use.name, "search");
  std::string json_text;
  int fragments = 0;
  for (const auto& d : deltas) {
    if (d.type == Type::kToolInputDelta) {
      json_text += d.partial_json;
      ++fragments;
    }
  }
  EXPECT_GT(fragments, 1);
  EXPECT_EQ(nlohmann::json::parse(json_text), r.content[0].tool_use.input);
  EXPECT_EQ(deltas[deltas.size() - 2].stop_reason, StopReason::kToolUse);
}

}  // namespace
}  // namespace basalt::models::builtin
