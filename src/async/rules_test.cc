#include "async/rules.h"

#include "gtest/gtest.h"

namespace basalt::async {
namespace {

using nlohmann::json;

absl::StatusOr<Rule> Parse(const char* text) {
  return ParseRule(json::parse(text), AsyncConfig{});
}

TEST(RulesTest, ParsesAWebhookRuleWithDefaults) {
  auto rule = Parse(R"({"name":"r1","event_pattern":{"detail-type":["genai.request.completed"]},
                        "targets":[{"type":"webhook","url":"http://127.0.0.1:9/h","secret":"s"}]})");
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->targets[0].max_attempts, 8);
  EXPECT_TRUE(rule->pattern->Matches(json{{"detail-type", "genai.request.completed"}}));
  EXPECT_FALSE(rule->pattern->Matches(json{{"detail-type", "genai.request.failed"}}));
  const json view = RenderRule(*rule);
  EXPECT_FALSE(view["targets"][0].contains("secret")) << "secrets are never shown";
  EXPECT_TRUE(view["targets"][0]["secret_set"]);
}

TEST(RulesTest, PatternMayBeAString) {
  auto rule = Parse(R"({"name":"r","event_pattern":"{\"source\":[\"a\"]}","targets":[{"type":"sse"}]})");
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_TRUE(rule->pattern->Matches(json{{"source", "a"}}));
}

TEST(RulesTest, ErrorsNameTheField) {
  struct Case {
    const char* body;
    const char* expected;
  } cases[] = {
      {R"({"event_pattern":{},"targets":[{"type":"sse"}]})", "name: is required"},
      {R"({"name":"bad name","event_pattern":{},"targets":[{"type":"sse"}]})", "name: must be"},
      {R"({"name":"r","targets":[{"type":"sse"}]})", "event_pattern: is required"},
      {R"({"name":"r","event_pattern":{"detail":{"n":[{"numeric":[">","x"]}]}},"targets":[{"type":"sse"}]})",
       "event_pattern.detail.n: numeric"},
      {R"({"name":"r","event_pattern":{},"targets":[]})", "targets: must be a non-empty array"},
      {R"({"name":"r","event_pattern":{},"targets":[{"type":"email"}]})", "targets[0].type: unknown"},
      {R"({"name":"r","event_pattern":{},"targets":[{"type":"webhook"}]})", "targets[0].url: is required"},
      {R"({"name":"r","event_pattern":{},"targets":[{"type":"webhook","url":"ftp://x/"}]})",
       "targets[0].url: must use http or https"},
      {R"({"name":"r","event_pattern":{},"targets":[{"type":"webhook","url":"http://h/","max_attempts":0}]})",
       "targets[0].max_attempts"},
      {R"({"name":"r","event_pattern":{},"targets":[{"type":"model"}]})", "targets[0].model: is required"},
  };
  for (const Case& c : cases) {
    auto rule = Parse(c.body);
    ASSERT_FALSE(rule.ok()) << c.body;
    EXPECT_EQ(rule.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(rule.status().message()).find(c.expected), std::string::npos)
        << rule.status().message() << " should contain " << c.expected;
  }
}

TEST(RulesTest, NameFromPathWins) {
  auto rule = ParseRule(json::parse(R"({"event_pattern":{},"targets":[{"type":"sse"}]})"),
                        AsyncConfig{}, "from-path");
  ASSERT_TRUE(rule.ok());
  EXPECT_EQ(rule->name, "from-path");
}

}  // namespace
}  // namespace basalt::async
