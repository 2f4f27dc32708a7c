// StreamScanner: matches split across chunks, hold-back, UTF-8, blocking, and
// the property that any chunking gives Scan(whole).text.
#include "tenancy/guardrails/stream_scanner.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tenancy/guardrails/test_util.h"

namespace basalt::guardrails {
namespace {

const Policy& Full() {
  static const Policy policy = PolicyFrom(R"({
    "pii": {"EMAIL": "ANONYMIZE", "PHONE": "ANONYMIZE", "US_SOCIAL_SECURITY_NUMBER": "ANONYMIZE",
            "CREDIT_DEBIT_CARD_NUMBER": "ANONYMIZE", "INTERNATIONAL_BANK_ACCOUNT_NUMBER": "ANONYMIZE",
            "IP_ADDRESS": "ANONYMIZE", "AWS_ACCESS_KEY": "ANONYMIZE", "AWS_SECRET_KEY": "ANONYMIZE"},
    "regexes": [{"name": "employee_id", "pattern": "EMP-[0-9]{6}", "action": "ANONYMIZE",
                 "max_match_bytes": 10},
                {"name": "tag", "pattern": "\\bT[0-9]+\\b", "action": "NONE", "max_match_bytes": 12}]})");
  return policy;
}

std::string Stream(const Policy& p, const std::vector<std::string>& chunks,
                   std::vector<std::string>* pieces = nullptr) {
  StreamScanner s(p);
  std::string out;
  for (const std::string& c : chunks) {
    std::string piece = s.Feed(c);
    if (pieces) pieces->push_back(piece);
    out += piece;
  }
  out += s.Finish();
  return out;
}

TEST(Stream, CardSplitAcrossChunks) {
  EXPECT_EQ(Stream(Full(), {"pay 4111 1111 ", "1111 1111 now"}),
            "pay {CREDIT_DEBIT_CARD_NUMBER} now");
  const Policy cards = PolicyFrom(R"({"pii": {"CREDIT_DEBIT_CARD_NUMBER": "ANONYMIZE"}})");
  std::vector<std::string> pieces;
  EXPECT_EQ(Stream(cards, {"pay 4111 1111 ", "1111 1111", " now"}, &pieces),
            "pay {CREDIT_DEBIT_CARD_NUMBER} now");
  EXPECT_EQ(pieces[0], "pay ");  // the digits are held: they may become a card
  EXPECT_EQ(pieces[1], "");      // the card may still grow
  EXPECT_EQ(pieces[2], "{CREDIT_DEBIT_CARD_NUMBER} now");
}

TEST(Stream, EmailSplitAcrossChunks) {
  EXPECT_EQ(Stream(Full(), {"write to jo", "hn.doe@exa", "mple.com", " today"}),
            "write to {EMAIL} today");
  EXPECT_EQ(Stream(Full(), {"a@b", ".com"}), "{EMAIL}");
}

TEST(Stream, HoldsBackOnlyWhatAMatchCouldNeed) {
  const Policy p = PolicyFrom(R"({"pii": {"CREDIT_DEBIT_CARD_NUMBER": "ANONYMIZE"}})");
  StreamScanner s(p);
  EXPECT_EQ(s.Feed("Hello world, the answer is "), "Hello world, the answer is ");
  EXPECT_EQ(s.Feed("42"), "");
  EXPECT_EQ(s.Feed(" apples. "), "42 apples. ");
  EXPECT_EQ(s.held_bytes(), 0u);
  // With email on, a trailing word could become a local part.
  const Policy q = PolicyFrom(R"({"pii": {"EMAIL": "ANONYMIZE"}})");
  StreamScanner t(q);
  EXPECT_EQ(t.Feed("Hello wor"), "Hello ");
  EXPECT_EQ(t.Feed("ld. "), "world. ");
  EXPECT_EQ(t.Finish(), "");
}

TEST(Stream, NeverSplitsUtf8) {
  const Policy p = PolicyFrom(R"({"pii": {"CREDIT_DEBIT_CARD_NUMBER": "ANONYMIZE"}})");
  StreamScanner s(p);
  const std::string euro = "\xE2\x82\xAC";  // €
  EXPECT_EQ(s.Feed("price: \xE2\x82"), "price: ");
  EXPECT_EQ(s.Feed("\xAC 5 "), euro + " ");  // "5 " may continue as card digits
  EXPECT_EQ(s.Finish(), "5 ");
}

TEST(Stream, DeniedPhraseSplitBlocks) {
  const Policy p = PolicyFrom(R"({"denied_words": ["project zeus"]})");
  StreamScanner s(p);
  std::string out = s.Feed("About Proj");
  out += s.Feed("ect   ZE");
  EXPECT_FALSE(s.blocked());
  out += s.Feed("US is secret");
  EXPECT_TRUE(s.blocked());
  EXPECT_EQ(out, "About ");
  EXPECT_EQ(s.Feed("more"), "");
  EXPECT_EQ(s.Finish(), "");
  ASSERT_EQ(s.findings().size(), 1u);
  EXPECT_EQ(s.findings()[0].match, "Project   ZEUS");
  EXPECT_EQ(s.findings()[0].begin, 6u);
}

TEST(Stream, RegexWithinMaxMatchBytes) {
  EXPECT_EQ(Stream(Full(), {"id EMP-12", "3456 ok"}), "id {employee_id} ok");
}

TEST(Stream, FindingsUseStreamOffsets) {
  StreamScanner s(Full());
  std::string out = s.Feed(std::string(300, 'x') + " mail a@example.com ");
  out += s.Feed("and 10.1.2.3 end");
  out += s.Finish();
  ASSERT_EQ(s.findings().size(), 2u);
  EXPECT_EQ(s.findings()[0].begin, 306u);
  EXPECT_EQ(s.findings()[1].match, "10.1.2.3");
  EXPECT_EQ(s.findings()[1].begin, 324u);
  EXPECT_EQ(out, std::string(300, 'x') + " mail {EMAIL} and {IP_ADDRESS} end");
}

// Texts dense with entities, near-misses and boundary characters.
std::string RandomText(std::mt19937& rng) {
  static const std::vector<std::string> kPieces = {
      "4111 1111 1111 1111",
      "4111-1111-1111-1112",
      "378282246310005",
      "123-45-6789",
      "666-12-3456",
      "(555) 234-5678",
      "+44 20 7946 0958",
      "+1 415 555 2671",
      "555.234.5678",
      "DE89 3704 0044 0532 0130 00",
      "GB82WEST12345698765432",
      "192.168.0.1",
      "999.1.1.1",
      "2001:db8::1",
      "::1",
      "fe80::1ff:fe23:4567:890a",
      "AKIAIOSFODNN7EXAMPLE",
      "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "bob@example.com",
      "a.b+c@mail.example.org",
      "@",
      ".",
      "-",
      " ",
      "  ",
      "\n",
      "EMP-123456",
      "EMP-12",
      "T42",
      "T",
      "caf\xC3\xA9",
      "\xE2\x82\xAC",
      "word",
      "12",
      "3",
      ":",
      "(",
      "+",
      "x",
      "secret",
      "Project Zeus",
      "zeus",
      "project"};
  std::uniform_int_distribution<size_t> pick(0, kPieces.size() - 1);
  std::uniform_int_distribution<int> count(1, 40);
  std::string text;
  for (int n = count(rng); n > 0; --n) text += kPieces[pick(rng)];
  return text;
}

void CheckRandomSplits(const Policy& p, int rounds, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int round = 0; round < rounds; ++round) {
    const std::string text = RandomText(rng);
    const Assessment whole = p.Scan(text, Source::kOutput);
    std::vector<std::string> chunks;
    std::uniform_int_distribution<size_t> step(0, 12);
    for (size_t at = 0; at < text.size();) {
      const size_t len = std::min(text.size() - at, step(rng));
      chunks.push_back(text.substr(at, len));
      at += len;
    }
    StreamScanner s(p, Source::kOutput);
    std::string out;
    for (const std::string& c : chunks) {
      const std::string piece = s.Feed(c);
      out += piece;
    }
    out += s.Finish();
    if (whole.blocked) {
      ASSERT_TRUE(s.blocked()) << text;
      continue;
    }
    ASSERT_FALSE(s.blocked()) << text;
    ASSERT_EQ(out, whole.text) << "text: " << text;
    std::vector<Finding> acting;
    for (const Finding& f : whole.findings) {
      if (f.action != Action::kNone) acting.push_back(f);
    }
    std::vector<Finding> streamed;
    for (const Finding& f : s.findings()) {
      if (f.action != Action::kNone) streamed.push_back(f);
    }
    ASSERT_EQ(streamed.size(), acting.size()) << text;
    for (size_t i = 0; i < acting.size(); ++i) {
      ASSERT_EQ(streamed[i].begin, acting[i].begin) << text;
      ASSERT_EQ(streamed[i].match, acting[i].match) << text;
    }
  }
}

TEST(StreamProperty, RandomChunkingEqualsWholeScan) { CheckRandomSplits(Full(), 3000, 1); }

TEST(StreamProperty, RandomChunkingWithDeniedWords) {
  const Policy p = PolicyFrom(R"({"pii": {"EMAIL": "ANONYMIZE", "PHONE": "NONE",
      "CREDIT_DEBIT_CARD_NUMBER": "ANONYMIZE", "IP_ADDRESS": "ANONYMIZE"},
      "denied_words": ["project zeus"]})");
  CheckRandomSplits(p, 3000, 2);
}

TEST(StreamProperty, BlockedStreamEmitsOnlyAPrefix) {
  const Policy p =
      PolicyFrom(R"({"pii": {"EMAIL": "ANONYMIZE", "US_SOCIAL_SECURITY_NUMBER": "BLOCK"}})");
  const std::string text = "hi bob@example.com, ssn 123-45-6789 and more";
  for (size_t split = 0; split <= text.size(); ++split) {
    StreamScanner s(p);
    std::string out = s.Feed(text.substr(0, split));
    out += s.Feed(text.substr(split));
    out += s.Finish();
    EXPECT_TRUE(s.blocked());
    EXPECT_EQ(out, "hi {EMAIL}, ssn ") << split;
  }
}

}  // namespace
}  // namespace basalt::guardrails
