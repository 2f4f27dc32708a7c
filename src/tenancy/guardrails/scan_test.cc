// Whole-text scans: anonymized text, blocking, overlaps, regexes, denied phrases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tenancy/guardrails/test_util.h"

namespace basalt::guardrails {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(Scan, AnonymizesExactly) {
  const Policy p = PolicyFrom(R"({"pii": {"EMAIL": "ANONYMIZE", "PHONE": "ANONYMIZE",
      "CREDIT_DEBIT_CARD_NUMBER": "ANONYMIZE", "IP_ADDRESS": "NONE"}})");
  const Assessment a =
      p.Scan("Mail bob@example.com or call 555-234-5678; card 4111 1111 1111 1111 from 10.0.0.1.",
             Source::kInput);
  EXPECT_EQ(a.text, "Mail {EMAIL} or call {PHONE}; card {CREDIT_DEBIT_CARD_NUMBER} from 10.0.0.1.");
  EXPECT_FALSE(a.blocked);
  EXPECT_TRUE(a.anonymized);
  ASSERT_EQ(a.findings.size(), 4u);
  EXPECT_EQ(a.findings[0].match, "bob@example.com");
  EXPECT_EQ(a.findings[0].begin, 5u);
  EXPECT_EQ(a.findings[0].end, 20u);
  EXPECT_EQ(a.findings[3].name, "IP_ADDRESS");
  EXPECT_EQ(a.findings[3].action, Action::kNone);
}

TEST(Scan, CleanTextIsUnchanged) {
  const Policy p = PolicyFrom(R"({"pii": {"EMAIL": "ANONYMIZE"}})");
  const Assessment a = p.Scan("nothing to see here, 42 cats at 3.14 meters", Source::kOutput);
  EXPECT_EQ(a.text, "nothing to see here, 42 cats at 3.14 meters");
  EXPECT_THAT(a.findings, IsEmpty());
  EXPECT_FALSE(a.intervened());
}

TEST(Scan, BlocksWithTheSourceMessage) {
  const Policy p = PolicyFrom(
      R"({"pii": {"US_SOCIAL_SECURITY_NUMBER": {"input": "BLOCK", "output": "ANONYMIZE"}},
      "blocked_input_message": "Input blocked.", "blocked_output_message": "Output blocked."})");
  const Assessment in = p.Scan("my ssn is 123-45-6789", Source::kInput);
  EXPECT_TRUE(in.blocked);
  EXPECT_EQ(in.text, "Input blocked.");
  ASSERT_EQ(in.findings.size(), 1u);
  EXPECT_EQ(in.findings[0].action, Action::kBlock);
  const Assessment out = p.Scan("my ssn is 123-45-6789", Source::kOutput);
  EXPECT_FALSE(out.blocked);
  EXPECT_EQ(out.text, "my ssn is {US_SOCIAL_SECURITY_NUMBER}");
}

TEST(Scan, CustomRegex) {
  const Policy p = PolicyFrom(R"({"regexes": [
      {"name": "employee_id", "pattern": "EMP-[0-9]{6}", "action": "ANONYMIZE"},
      {"name": "codename", "pattern": "\\bZX[0-9]\\b", "action": "NONE"}]})");
  const Assessment a = p.Scan("EMP-123456 and EMP-12345 and ZX9 but AZX9", Source::kInput);
  EXPECT_EQ(a.text, "{employee_id} and EMP-12345 and ZX9 but AZX9");
  ASSERT_EQ(a.findings.size(), 2u);
  EXPECT_EQ(a.findings[0].kind, Finding::Kind::kRegex);
  EXPECT_EQ(a.findings[0].name, "employee_id");
  EXPECT_EQ(a.findings[1].match, "ZX9");
}

TEST(Scan, DeniedPhrasesAcrossWhitespaceAndCase) {
  const Policy p = PolicyFrom(R"({"denied_words": ["project zeus", "moon"]})");
  EXPECT_TRUE(p.Scan("tell me about Project   ZEUS.", Source::kInput).blocked);
  EXPECT_TRUE(p.Scan("PROJECT\n\tzeus", Source::kInput).blocked);
  EXPECT_TRUE(p.Scan("the Moon!", Source::kInput).blocked);
  EXPECT_FALSE(p.Scan("projectzeus", Source::kInput).blocked);
  EXPECT_FALSE(p.Scan("project zeusy", Source::kInput).blocked);
  EXPECT_FALSE(p.Scan("honeymoon", Source::kInput).blocked);
  EXPECT_FALSE(p.Scan("moons", Source::kInput).blocked);
  const Assessment a = p.Scan("Project Zeus", Source::kOutput);
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_EQ(a.findings[0].kind, Finding::Kind::kDeniedWord);
  EXPECT_EQ(a.findings[0].match, "Project Zeus");
  EXPECT_EQ(a.findings[0].name, "project zeus");
}

TEST(Scan, OverlapsEarliestThenLongest) {
  // The regex starts earlier than the email inside it: the regex wins.
  const Policy p = PolicyFrom(R"({"pii": {"EMAIL": "ANONYMIZE"},
      "regexes": [{"name": "contact", "pattern": "contact: [a-z@.]+", "action": "ANONYMIZE"}]})");
  EXPECT_EQ(p.Scan("contact: a@example.com", Source::kInput).text, "{contact}");
  // Same start: the longer wins.
  const Policy q = PolicyFrom(R"({"pii": {"EMAIL": "ANONYMIZE"},
      "regexes": [{"name": "user", "pattern": "[a-z]+@", "action": "ANONYMIZE"}]})");
  EXPECT_EQ(q.Scan("x abc@example.com", Source::kInput).text, "x {EMAIL}");
}

TEST(Scan, NoneNeverHidesAnActingFinding) {
  const Policy p = PolicyFrom(R"({"pii": {"EMAIL": "ANONYMIZE"},
      "regexes": [{"name": "wide", "pattern": "mail [a-z@.]+", "action": "NONE"}]})");
  const Assessment a = p.Scan("mail a@example.com", Source::kInput);
  EXPECT_EQ(a.text, "mail {EMAIL}");
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_EQ(a.findings[0].name, "EMAIL");
}

TEST(Scan, DisabledEntitiesAreNotDetected) {
  const Policy p = PolicyFrom(R"({"pii": {"EMAIL": "ANONYMIZE"}})");
  EXPECT_THAT(Found(p, "4111 1111 1111 1111 and 10.0.0.1"), IsEmpty());
}

TEST(Scan, Utf8AroundMatches) {
  const Policy p = PolicyFrom(R"({"pii": {"EMAIL": "ANONYMIZE"}})");
  EXPECT_EQ(p.Scan("café→bob@example.com←ñ", Source::kInput).text, "café→{EMAIL}←ñ");
}

}  // namespace
}  // namespace basalt::guardrails
