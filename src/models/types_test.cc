#include "models/types.h"

#include <gtest/gtest.h>

namespace basalt::models {
namespace {

TEST(ModelTypes, StopReasonNamesAreTheAnthropicAndConverseOnes) {
  EXPECT_EQ(StopReasonName(StopReason::kEndTurn), "end_turn");
  EXPECT_EQ(StopReasonName(StopReason::kMaxTokens), "max_tokens");
  EXPECT_EQ(StopReasonName(StopReason::kStopSequence), "stop_sequence");
  EXPECT_EQ(StopReasonName(StopReason::kToolUse), "tool_use");
  EXPECT_EQ(StopReasonName(StopReason::kContentFiltered), "content_filtered");
}

TEST(ModelTypes, ToolResultsNestContentBlocks) {
  ContentBlock result;
  result.type = ContentBlock::Type::kToolResult;
  result.tool_result.tool_use_id = "toolu_1";
  result.tool_result.content.push_back(ContentBlock::Text("42"));
  Message m{Role::kUser, {result}};
  ASSERT_EQ(m.content[0].tool_result.content.size(), 1u);
  EXPECT_EQ(m.content[0].tool_result.content[0].text, "42");
}

}  // namespace
}  // namespace basalt::models
