#include "rag/chunk/tokens.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/builtin/tokenizer.h"

namespace basalt::rag::chunk_internal {
namespace {

std::vector<models::builtin::TokenSpan> Scan(std::string_view text, size_t from = 0) {
  std::vector<models::builtin::TokenSpan> out;
  models::builtin::TokenSpan t;
  while (NextToken(text, from, &t)) {
    out.push_back(t);
    from = t.end;
  }
  return out;
}

void ExpectSameAsTheTokenizer(const std::string& text) {
  SCOPED_TRACE(testing::PrintToString(text));
  const auto want = models::builtin::Tokenize(text);
  const auto got = Scan(text);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].begin, want[i].begin);
    EXPECT_EQ(got[i].end, want[i].end);
  }
  EXPECT_EQ(CountTokens(text), models::builtin::CountTokens(text));
  // Chunking restarts the tokenizer at token starts: the rest must not change.
  for (size_t k = 0; k < want.size(); k += 3) {
    const auto rest = models::builtin::Tokenize(std::string_view(text).substr(want[k].begin));
    ASSERT_EQ(rest.size(), want.size() - k);
    for (size_t i = 0; i < rest.size(); ++i) {
      EXPECT_EQ(rest[i].begin + want[k].begin, want[k + i].begin);
    }
  }
}

TEST(TokensTest, ByteClassesAreTheTokenizers) {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    EXPECT_EQ(ClassOf(ch) == ByteClass::kSpace, models::builtin::IsAsciiSpace(ch)) << c;
    EXPECT_EQ(ClassOf(ch) == ByteClass::kWord || ClassOf(ch) == ByteClass::kAsciiWord,
              models::builtin::IsWordByte(ch))
        << c;
  }
}

TEST(TokensTest, MatchesTheBuiltinTokenizerOnKnownText) {
  for (const char* text :
       {"", " ", "cat", "tokenizer", "Hello, world!  3.14 e.g. U.S.", "日本語の文章です。",
        "emoji 😀🎉👍🏽 ok", "naïve café", "\xE6\x97 \xF0\x9F\x98 \xFF\xFE \xC3 x\x80\x80y",
        "a\tb\nc\rd\fe\vf", "abcd" "efgh" "ij"}) {
    ExpectSameAsTheTokenizer(text);
  }
}

TEST(TokensTest, MatchesTheBuiltinTokenizerOnRandomBytes) {
  // Bytes drawn mostly from the interesting classes: spaces, ASCII word
  // bytes, punctuation, UTF-8 lead and continuation bytes.
  const std::string alphabet =
      std::string(" \n\tab9Z.,!-") + "\xC3\xA9\xE6\x97\xA5\xF0\x9F\x98\x80\xFF\x80\xBF";
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const size_t len = rng() % 64;
    for (size_t i = 0; i < len; ++i) text += alphabet[rng() % alphabet.size()];
    ExpectSameAsTheTokenizer(text);
  }
}

}  // namespace
}  // namespace basalt::rag::chunk_internal
