// Sentence splitting, term extraction and BM25 ranking.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/builtin/ranker.h"
#include "models/builtin/sentences.h"
#include "models/builtin/terms.h"

namespace basalt::models::builtin {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Split(std::string_view text) {
  std::vector<std::string> out;
  for (auto s : SplitSentences(text)) out.emplace_back(s);
  return out;
}

TEST(Sentences, SplitsOnEndersAndNewlines) {
  EXPECT_EQ(Split("One. Two! Three? Four"),
            (std::vector<std::string>{"One.", "Two!", "Three?", "Four"}));
  EXPECT_EQ(Split("Line one\nLine two\r\n\n  Line three  "),
            (std::vector<std::string>{"Line one", "Line two", "Line three"}));
  EXPECT_EQ(Split("Wait... What?! Yes."), (std::vector<std::string>{"Wait...", "What?!", "Yes."}));
  EXPECT_TRUE(Split("").empty());
  EXPECT_TRUE(Split(" \n\n ").empty());
}

TEST(Sentences, KeepsAbbreviationsDecimalsAndInitialsTogether) {
  EXPECT_EQ(Split("Dr. Smith paid $3.50 for it. He left."),
            (std::vector<std::string>{"Dr. Smith paid $3.50 for it.", "He left."}));
  EXPECT_EQ(Split("Fruit, e.g. apples, is sweet. See J. R. Tolkien. The U.S. Army won."),
            (std::vector<std::string>{"Fruit, e.g. apples, is sweet.", "See J. R. Tolkien.",
                                      "The U.S. Army won."}));
  EXPECT_EQ(Split("It ended at 5 p.m. on Monday. Next."),
            (std::vector<std::string>{"It ended at 5 p.m. on Monday.", "Next."}));
  EXPECT_EQ(Split("1. First item\n2. Second item. Done."),
            (std::vector<std::string>{"1. First item", "2. Second item.", "Done."}));
  EXPECT_EQ(Split("He said \"stop.\" Then he left. See https://example.com/a.b now."),
            (std::vector<std::string>{"He said \"stop.\"", "Then he left.",
                                      "See https://example.com/a.b now."}));
}

TEST(Sentences, DetectsQuestions) {
  EXPECT_TRUE(IsQuestion("Is it?"));
  EXPECT_TRUE(IsQuestion("She asked \"why?\" "));
  EXPECT_FALSE(IsQuestion("It is."));
  EXPECT_FALSE(IsQuestion(""));
}

TEST(Terms, LowercasesDropsStopwordsAndStems) {
  EXPECT_THAT(ExtractTerms("What is the capital of France?"), ElementsAre("capital", "france"));
  EXPECT_THAT(ExtractTerms("The CATS were Running; it's 2024."), ElementsAre("cat", "run", "2024"));
  EXPECT_EQ(Stem("studies"), "study");
  EXPECT_EQ(Stem("classes"), "class");
  EXPECT_EQ(Stem("status"), "status");
  EXPECT_EQ(Stem("analysis"), "analysis");
  EXPECT_EQ(Stem("jumped"), "jump");
  EXPECT_EQ(Stem("stopped"), "stop");
  EXPECT_EQ(Stem("falling"), "fall");
  EXPECT_EQ(Stem("sing"), "sing");
  EXPECT_TRUE(IsStopword("the"));
  EXPECT_FALSE(IsStopword("paris"));
}

TEST(Ranker, RarerTermsWeighMoreAndTiesGoToTheEarlierSentence) {
  const std::vector<std::vector<std::string>> candidates = {
      {"paris", "capital", "france"},
      {"berlin", "capital", "germany"},
      {"seine", "flow", "paris"},
      {"unrelated"},
  };
  const auto scores = Bm25Scores(candidates, {"capital", "germany"});
  EXPECT_GT(scores[1], scores[0]);
  EXPECT_GT(scores[0], 0);
  EXPECT_EQ(scores[2], 0);
  EXPECT_EQ(scores[3], 0);
  EXPECT_THAT(SelectTop(scores, 3), ElementsAre(1));          // 0 is under half the best
  EXPECT_THAT(SelectTop(scores, 3, 0.0), ElementsAre(0, 1));  // original order
  EXPECT_THAT(SelectTop({1.0, 2.0, 2.0, 2.0}, 2), ElementsAre(1, 2));
  EXPECT_TRUE(SelectTop({0.0, 0.0}, 3).empty());
  EXPECT_TRUE(Bm25Scores({}, {"x"}).empty());
}

}  // namespace
}  // namespace basalt::models::builtin
