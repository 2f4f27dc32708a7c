#include "models/builtin/extractive_chat.h"

#include <gtest/gtest.h>

#include <string>

#include "models/builtin/tokenizer.h"

namespace basalt::models::builtin {
namespace {

using nlohmann::json;

constexpr char kPassage[] =
    "Paris is the capital of France. Berlin is the capital of Germany. "
    "The Seine flows through Paris.";

Message User(std::string text) {
  Message m;
  m.content.push_back(ContentBlock::Text(std::move(text)));
  return m;
}

Message Assistant(std::string text) {
  Message m = User(std::move(text));
  m.role = Role::kAssistant;
  return m;
}

ChatRequest Ask(std::string question) {
  ChatRequest r;
  r.model = "builtin-chat";
  r.system = kPassage;
  r.messages.push_back(User(std::move(question)));
  return r;
}

std::string TextOf(const ChatResponse& r) {
  EXPECT_EQ(r.content.size(), 1u);
  EXPECT_EQ(r.content[0].type, ContentBlock::Type::kText);
  return r.content.empty() ? "" : r.content[0].text;
}

TEST(ExtractiveChat, AnswersFromTheSystemPrompt) {
  auto r = AnswerChat(Ask("What is the capital of Germany?"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(TextOf(*r), "Berlin is the capital of Germany.");
  EXPECT_EQ(r->stop_reason, StopReason::kEndTurn);
  EXPECT_EQ(r->model, "builtin-chat");
  EXPECT_EQ(r->usage.output_tokens, CountTokens("Berlin is the capital of Germany."));
  EXPECT_EQ(r->usage.input_tokens,
            CountTokens(kPassage) + CountTokens("What is the capital of Germany?"));
  EXPECT_FALSE(r->id.empty());
}

TEST(ExtractiveChat, SameInputSameOutput) {
  const ChatRequest request = Ask("Which river flows through Paris?");
  auto a = AnswerChat(request);
  auto b = AnswerChat(request);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(TextOf(*a), TextOf(*b));
  EXPECT_EQ(TextOf(*a), "The Seine flows through Paris.");
  EXPECT_EQ(a->usage.input_tokens, b->usage.input_tokens);
  EXPECT_EQ(a->usage.output_tokens, b->usage.output_tokens);
}

TEST(ExtractiveChat, AnswersFromAnEarlierTurnInOriginalOrder) {
  ChatRequest r;
  r.messages.push_back(
      User("Notes: The meeting is on Tuesday. Lunch is pizza. "
           "The meeting room is 4B. Parking is free."));
  r.messages.push_back(Assistant("Noted."));
  r.messages.push_back(User("Where and when is the meeting?"));
  r.messages.push_back(Assistant("I could not find an answer to that in the conversation."));
  r.messages.push_back(User("Where and when is the meeting?"));  // asked again: not an answer
  auto out = AnswerChat(r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(TextOf(*out), "Notes: The meeting is on Tuesday. The meeting room is 4B.");
  EXPECT_EQ(out->model, "builtin-chat");  // default when the request names none
}

TEST(ExtractiveChat, ContextAndQuestionInOneMessage) {
  ChatRequest r;
  r.messages.push_back(User(
      "Answer from the context.\nContext:\nThe warranty lasts two years. Returns take 30 days.\n"
      "Question: How long does the warranty last?"));
  auto out = AnswerChat(r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(TextOf(*out), "The warranty lasts two years.");
}

TEST(ExtractiveChat, AnswersFromAToolResult) {
  ChatRequest r;
  r.messages.push_back(User("What's the weather in Oslo?"));
  Message call;
  call.role = Role::kAssistant;
  call.content.push_back(ContentBlock::ToolCall({"toolu_1", "weather", {{"city", "Oslo"}}}));
  r.messages.push_back(call);
  Message result;
  ContentBlock block;
  block.type = ContentBlock::Type::kToolResult;
  block.tool_result.tool_use_id = "toolu_1";
  block.tool_result.content.push_back(ContentBlock::Text("Weather in Oslo: 4C and raining."));
  result.content.push_back(block);
  r.messages.push_back(result);
  auto out = AnswerChat(r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(TextOf(*out), "Weather in Oslo: 4C and raining.");
}

TEST(ExtractiveChat, SaysSoWhenNothingMatches) {
  auto r = AnswerChat(Ask("Who won the 1998 World Cup?"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(TextOf(*r), kNoAnswer);
  EXPECT_EQ(r->stop_reason, StopReason::kEndTurn);
}

TEST(ExtractiveChat, StopsAtTheFirstStopSequence) {
  ChatRequest request = Ask("What is the capital of Germany?");
  request.stop = {"Germany", "capital", ""};
  auto r = AnswerChat(request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(TextOf(*r), "Berlin is the ");
  EXPECT_EQ(r->stop_reason, StopReason::kStopSequence);
  EXPECT_EQ(r->stop_sequence, "capital");
  EXPECT_EQ(r->usage.output_tokens, 4);  // Berl|in|is|the

  request.stop = {"is the capital of", "the capital"};  // the second is completed first
  r = AnswerChat(request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(TextOf(*r), "Berlin is ");
  EXPECT_EQ(r->stop_sequence, "the capital");
}

TEST(ExtractiveChat, TruncatesAtMaxTokens) {
  ChatRequest request = Ask("What is the capital of Germany?");
  request.max_tokens = 5;  // the whole answer: Berl|in|is|the|capi|tal|of|Germ|any|.
  auto r = AnswerChat(request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(TextOf(*r), "Berlin is the capi");
  EXPECT_EQ(r->stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(r->usage.output_tokens, 5);

  request.max_tokens = 8;  // "Germany" starts within the budget but is not completed
  request.stop = {"Germany"};
  r = AnswerChat(request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stop_reason, StopReason::kMaxTokens);  // the budget ran out first
  EXPECT_EQ(TextOf(*r), "Berlin is the capital of Germ");

  request.max_tokens = 100;
  r = AnswerChat(request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stop_reason, StopReason::kStopSequence);
}

TEST(ExtractiveChat, SmallMaxTokensPicksFewerSentences) {
  ChatRequest r;
  r.system = "Cats purr. Cats sleep a lot. Cats chase mice.";
  r.messages.push_back(User("Tell me about cats?"));
  auto all = AnswerChat(r);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(TextOf(*all), "Cats purr. Cats sleep a lot. Cats chase mice.");
  r.max_tokens = 30;  // one sentence per 24 tokens
  auto one = AnswerChat(r);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(TextOf(*one), "Cats purr.");
}

ToolSpec Tool(std::string name, json schema) {
  ToolSpec t;
  t.name = std::move(name);
  t.input_schema = std::move(schema);
  return t;
}

TEST(ExtractiveChat, ForcedToolGetsSchemaValidInput) {
  ChatRequest r = Ask("Book Berlin");
  r.tools.push_back(Tool("search", json::parse(R"({"type":"object","properties":{
      "q":{"type":"string"},"limit":{"type":"integer","minimum":1}},"required":["q","limit"]})")));
  r.tools.push_back(Tool("book", json::parse(R"({"type":"object","properties":{
      "city":{"type":"string"},"class":{"enum":["economy","business"]}},
      "required":["city","class"]})")));
  r.tool_choice = ToolChoice{ToolChoice::Mode::kAny, ""};
  auto any = AnswerChat(r);
  ASSERT_TRUE(any.ok());
  ASSERT_EQ(any->content.size(), 1u);
  ASSERT_EQ(any->content[0].type, ContentBlock::Type::kToolUse);
  EXPECT_EQ(any->content[0].tool_use.name, "search");
  EXPECT_EQ(any->content[0].tool_use.input, json({{"q", "Book Berlin"}, {"limit", 1}}));
  EXPECT_FALSE(any->content[0].tool_use.id.empty());
  EXPECT_EQ(any->stop_reason, StopReason::kToolUse);
  EXPECT_GT(any->usage.output_tokens, 0);

  r.tool_choice = ToolChoice{ToolChoice::Mode::kTool, "book"};
  auto named = AnswerChat(r);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->content[0].tool_use.name, "book");
  EXPECT_EQ(named->content[0].tool_use.input,
            json({{"city", "Book Berlin"}, {"class", "economy"}}));

  r.tool_choice = ToolChoice{ToolChoice::Mode::kAuto, ""};
  auto automatic = AnswerChat(r);
  ASSERT_TRUE(automatic.ok());
  EXPECT_EQ(automatic->content[0].type, ContentBlock::Type::kText);
}

TEST(ExtractiveChat, RejectsInvalidRequestsNamingTheField) {
  ChatRequest empty;
  EXPECT_EQ(AnswerChat(empty).status().message(), "messages: must not be empty");
  ChatRequest r = Ask("Hi?");
  r.max_tokens = 0;
  EXPECT_EQ(AnswerChat(r).status().message(), "max_tokens: must be at least 1");
  r.max_tokens.reset();
  r.tool_choice = ToolChoice{ToolChoice::Mode::kAny, ""};
  EXPECT_EQ(AnswerChat(r).status().code(), absl::StatusCode::kInvalidArgument);
  r.tools.push_back(Tool("a", json::object()));
  r.tool_choice = ToolChoice{ToolChoice::Mode::kTool, "b"};
  EXPECT_EQ(AnswerChat(r).status().message(), "tool_choice.name: no tool named 'b' in tools");
}

TEST(ExtractiveChat, CountsEveryPartOfTheInput) {
  ChatRequest r = Ask("x");
  const int64_t base = CountInputTokens(r);
  Message m;
  ContentBlock image;
  image.type = ContentBlock::Type::kImage;
  m.content.push_back(image);
  r.messages.push_back(m);
  EXPECT_EQ(CountInputTokens(r), base + kImageTokens);
  r.tools.push_back(Tool("lookup", json::object()));
  EXPECT_EQ(CountInputTokens(r), base + kImageTokens + CountTokens("lookup") + CountTokens("{}"));
}

}  // namespace
}  // namespace basalt::models::builtin
