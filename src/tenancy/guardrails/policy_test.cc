// Policy JSON: accepted shapes, the round trip, and errors that name the field.
#include "tenancy/guardrails/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tenancy/guardrails/test_util.h"

namespace basalt::guardrails {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(std::string_view json_text) {
  absl::StatusOr<Policy> policy = Policy::FromJson(nlohmann::json::parse(json_text));
  if (policy.ok()) return "ok";
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(policy.status().message());
}

TEST(PolicyJson, ParsesEveryMember) {
  const Policy p = PolicyFrom(R"({
    "pii": {"EMAIL": "ANONYMIZE", "CREDIT_DEBIT_CARD_NUMBER": {"input": "BLOCK", "output": "ANONYMIZE"}},
    "regexes": [{"name": "employee_id", "pattern": "EMP-[0-9]{6}", "action": "ANONYMIZE"},
                {"name": "ticket", "pattern": "T#[0-9]+", "input_action": "NONE",
                 "output_action": "BLOCK", "max_match_bytes": 32}],
    "denied_words": ["project zeus", "Moon"],
    "blocked_input_message": "no input", "blocked_output_message": "no output"})");
  EXPECT_EQ(p.pii(EntityType::kEmail), (SourceActions{Action::kAnonymize, Action::kAnonymize}));
  EXPECT_EQ(p.pii(EntityType::kCreditDebitCardNumber),
            (SourceActions{Action::kBlock, Action::kAnonymize}));
  EXPECT_FALSE(p.pii(EntityType::kPhone).has_value());
  ASSERT_EQ(p.regexes().size(), 2u);
  EXPECT_EQ(p.regexes()[0].max_match_bytes, 256u);
  EXPECT_EQ(p.regexes()[1].action, (SourceActions{Action::kNone, Action::kBlock}));
  EXPECT_EQ(p.regexes()[1].max_match_bytes, 32u);
  ASSERT_EQ(p.denied_words().size(), 2u);
  EXPECT_EQ(p.denied_words()[0].words, (std::vector<std::string>{"project", "zeus"}));
  EXPECT_EQ(p.blocked_message(Source::kInput), "no input");
  EXPECT_EQ(p.blocked_message(Source::kOutput), "no output");
}

TEST(PolicyJson, RoundTrips) {
  const Policy p = PolicyFrom(R"({
    "pii": {"IP_ADDRESS": "NONE", "PHONE": {"input": "NONE", "output": "ANONYMIZE"}},
    "regexes": [{"name": "r", "pattern": "a+b", "action": {"input": "BLOCK", "output": "NONE"}}],
    "denied_words": ["x  y"]})");
  const nlohmann::json j = p.ToJson();
  const Policy q = PolicyFrom(j.dump());
  EXPECT_EQ(q.ToJson(), j);
  EXPECT_EQ(j["pii"]["IP_ADDRESS"], "NONE");
  EXPECT_EQ(j["pii"]["PHONE"]["output"], "ANONYMIZE");
  EXPECT_EQ(j["denied_words"][0], "x  y");
}

TEST(PolicyJson, ErrorsNameTheField) {
  EXPECT_EQ(ErrorOf(R"({"pii": {"EMAIL": "BLOK"}})"), "guardrail.pii.EMAIL: unknown action 'BLOK'");
  EXPECT_THAT(ErrorOf(R"({"pii": {"NAME": "BLOCK"}})"), HasSubstr("guardrail.pii.NAME:"));
  EXPECT_THAT(ErrorOf(R"({"pii": {"EMAIL": {"input": "BLOCK"}}})"),
              HasSubstr("guardrail.pii.EMAIL:"));
  EXPECT_THAT(ErrorOf(R"({"pii": {"EMAIL": {"input": "BLOCK", "output": "X"}}})"),
              HasSubstr("guardrail.pii.EMAIL.output: unknown action 'X'"));
  EXPECT_THAT(ErrorOf(R"({"pii": []})"), HasSubstr("guardrail.pii:"));
  EXPECT_THAT(ErrorOf(R"({"pi": {}})"), HasSubstr("guardrail.pi: unknown field"));
  EXPECT_THAT(ErrorOf(R"({"regexes": [{"name": "bad", "pattern": "a(b", "action": "NONE"}]})"),
              HasSubstr("guardrail.regexes[0].pattern: pattern 'a(b' does not compile"));
  EXPECT_THAT(ErrorOf(R"({"regexes": [{"pattern": "a", "action": "NONE"}]})"),
              HasSubstr("guardrail.regexes[0].name: is required"));
  EXPECT_THAT(ErrorOf(R"({"regexes": [{"name": "a", "pattern": "a"}]})"),
              HasSubstr("guardrail.regexes[0].action: is required"));
  EXPECT_THAT(ErrorOf(R"({"regexes": [{"name": "a", "pattern": "a", "action": "NONE",
                                       "max_match_bytes": 0}]})"),
              HasSubstr("guardrail.regexes[0].max_match_bytes:"));
  EXPECT_THAT(ErrorOf(R"({"regexes": [{"name": "a", "pattern": "a", "action": "NONE"},
                                      {"name": "a", "pattern": "b", "action": "NONE"}]})"),
              HasSubstr("guardrail.regexes[1].name: duplicate name 'a'"));
  EXPECT_THAT(ErrorOf(R"({"denied_words": ["ok", "  "]})"),
              HasSubstr("guardrail.denied_words[1]:"));
  EXPECT_THAT(ErrorOf(R"({"denied_words": [3]})"), HasSubstr("guardrail.denied_words[0]:"));
  EXPECT_THAT(ErrorOf(R"({"blocked_input_message": 3})"),
              HasSubstr("guardrail.blocked_input_message:"));
  EXPECT_THAT(ErrorOf(R"([])"), HasSubstr("guardrail:"));
}

}  // namespace
}  // namespace basalt::guardrails
