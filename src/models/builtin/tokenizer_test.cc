#include "models/builtin/tokenizer.h"

#include <gtest/gtest.h>

#include <string>

namespace basalt::models::builtin {
namespace {

TEST(Tokenizer, CountsWordsInGroupsOfFourCharactersAndPunctuationAlone) {
  EXPECT_EQ(CountTokens(""), 0);
  EXPECT_EQ(CountTokens(" \t\n "), 0);
  EXPECT_EQ(CountTokens("cat"), 1);
  EXPECT_EQ(CountTokens("word"), 1);
  EXPECT_EQ(CountTokens("tokenizer"), 3);      // toke|nize|r
  EXPECT_EQ(CountTokens("Hello, world!"), 6);  // Hell|o|,|worl|d|!
  EXPECT_EQ(CountTokens("a b c"), 3);
  EXPECT_EQ(CountTokens("3.14"), 3);
}

TEST(Tokenizer, SpansCoverTheTextAndMatchTheCount) {
  const std::string text = "The quick brown fox, 42 times.";
  const auto spans = Tokenize(text);
  ASSERT_EQ(static_cast<int64_t>(spans.size()), CountTokens(text));
  std::string joined;
  for (const auto& s : spans) {
    ASSERT_LT(s.begin, s.end);
    joined += text.substr(s.begin, s.end - s.begin);
  }
  EXPECT_EQ(joined, "Thequickbrownfox,42times.");
}

TEST(Tokenizer, NeverSplitsAUtf8Character) {
  const std::string text =
      "h\xC3\xA9llo \xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC";
  const auto spans = Tokenize(text);
  ASSERT_EQ(spans.size(), 4u);  // hél l|o  €€€€|€
  EXPECT_EQ(text.substr(spans[0].begin, spans[0].end - spans[0].begin), "h\xC3\xA9ll");
  EXPECT_EQ(text.substr(spans[1].begin, spans[1].end - spans[1].begin), "o");
  EXPECT_EQ(spans[2].end - spans[2].begin, 12u);
  EXPECT_EQ(spans[3].end - spans[3].begin, 3u);
}

TEST(Tokenizer, MalformedUtf8StillAdvances) {
  const std::string text = "\xFF\xFE\x80 ok \xE2\x82";
  EXPECT_EQ(CountTokens(text), 3);
}

}  // namespace
}  // namespace basalt::models::builtin
