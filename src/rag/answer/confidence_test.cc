#include "rag/answer/confidence.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/builtin/embedder.h"
#include "models/builtin/extractive_chat.h"
#include "models/builtin/ranker.h"
#include "models/builtin/terms.h"
#include "rag/answer/citations.h"

namespace basalt::rag {
namespace {

const char* const kCorpus[] = {
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. It was "
    "completed in 1889 as the entrance arch to the World's Fair. The tower is 330 metres tall.",
    "Refunds are issued within 30 days of purchase. A refund requires the original receipt, and "
    "store credit is offered when the receipt is lost.",
    "The Nile is the longest river in Africa. Its main source is Lake Victoria, and it flows north "
    "into the Mediterranean Sea.",
    "Photosynthesis converts light energy into chemical energy. Plants store that energy as "
    "glucose in their leaves.",
    "The warranty covers manufacturing defects for two years. Damage from water or drops is not "
    "covered by the warranty.",
    "Mount Everest is the highest mountain above sea level, at 8849 metres, on the border of Nepal "
    "and China.",
};

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += static_cast<double>(a[i]) * b[i];
  return dot;
}

// Retrieval as the knowledge base does it, with the builtin embedder and a
// BM25 over the corpus: the top `k` passages by cosine, carrying both scores.
std::vector<Passage> Retrieve(const std::string& question, size_t k = 3) {
  const std::vector<float> q = *models::builtin::EmbedText(question);
  std::vector<std::vector<std::string>> docs;
  for (const char* text : kCorpus) docs.push_back(models::builtin::ExtractTerms(text));
  const std::vector<double> bm25 =
      models::builtin::Bm25Scores(docs, models::builtin::ExtractTerms(question));
  std::vector<Passage> all;
  for (size_t i = 0; i < std::size(kCorpus); ++i) {
    Passage p;
    p.text = kCorpus[i];
    p.vector_score = Cosine(q, *models::builtin::EmbedText(p.text));
    p.text_score = bm25[i];
    all.push_back(std::move(p));
  }
  std::stable_sort(all.begin(), all.end(), [](const Passage& a, const Passage& b) {
    return *a.vector_score > *b.vector_score;
  });
  all.resize(k);
  for (size_t i = 0; i < all.size(); ++i) all[i].number = static_cast<int>(i) + 1;
  return all;
}

struct Scored {
  double evidence;
  double grounding;
  double confidence;
};

Scored Score(const std::string& question, const std::string& answer) {
  const std::vector<Passage> passages = Retrieve(question);
  const GroundedAnswer g = Ground(answer, passages);
  return Scored{RetrievalEvidence(passages, question), g.grounding,
                Confidence(passages, g.grounding, question)};
}

TEST(ConfidenceTest, AnswerCopiedFromARelevantPassageScoresHigh) {
  for (const auto& [question, answer] : std::vector<std::pair<std::string, std::string>>{
           {"How tall is the Eiffel Tower?", "The tower is 330 metres tall."},
           {"When was the Eiffel Tower completed?",
            "It was completed in 1889 as the entrance arch to the World's Fair."},
           {"Does a refund require the original receipt?",
            "A refund requires the original receipt, and store credit is offered when the "
            "receipt is lost."},
           {"What is the main source of the Nile?",
            "Its main source is Lake Victoria, and it flows north into the Mediterranean Sea."},
           {"Does the warranty cover water damage?",
            "Damage from water or drops is not covered by the warranty."},
       }) {
    const Scored s = Score(question, answer);
    EXPECT_GT(s.confidence, 0.7) << question << " evidence " << s.evidence << " grounding "
                                 << s.grounding;
    EXPECT_FALSE(ShouldAbstain(s.confidence)) << question;
  }
}

TEST(ConfidenceTest, AnswerUnrelatedToThePassagesScoresLow) {
  for (const auto& [question, answer] : std::vector<std::pair<std::string, std::string>>{
           {"How tall is the Eiffel Tower?", "Bananas are a good source of potassium."},
           {"How long is the warranty?", "The capital of Australia is Canberra."},
           {"Where does the Nile flow?", "PWNED"},
       }) {
    const Scored s = Score(question, answer);
    EXPECT_LT(s.confidence, 0.3) << question << " evidence " << s.evidence << " grounding "
                                 << s.grounding;
    EXPECT_TRUE(ShouldAbstain(s.confidence)) << question;
  }
}

// Paraphrase costs coverage ("long" is not in the passage), but a grounded
// answer to it still stands.
TEST(ConfidenceTest, ParaphrasedQuestionWithAGroundedAnswerDoesNotAbstain) {
  const Scored s =
      Score("How long is the warranty?", "The warranty covers manufacturing defects for two years.");
  EXPECT_DOUBLE_EQ(s.grounding, 1.0);
  EXPECT_FALSE(ShouldAbstain(s.confidence)) << s.evidence;
}

// A question about something the corpus lacks: whatever the builtin model
// copies from the closest passages, the confidence falls below the threshold.
TEST(ConfidenceTest, QuestionAboutSomethingAbsentAbstains) {
  for (const std::string question : {
           "What is the boiling point of mercury?",
           "Who wrote the novel Moby Dick?",
           "How many moons does Jupiter have?",
           "What is the population of the tower district?",
       }) {
    const std::vector<Passage> passages = Retrieve(question);
    models::ChatRequest request = BuildAnswerRequest(question, passages, {});
    const std::string answer = models::builtin::AnswerChat(request)->content.front().text;
    const GroundedAnswer g = Ground(answer, passages);
    const double confidence = Confidence(passages, g.grounding, question);
    EXPECT_TRUE(ShouldAbstain(confidence) || IsNoAnswer(answer))
        << question << " -> " << answer << " evidence "
        << RetrievalEvidence(passages, question) << " grounding " << g.grounding;
  }
}

TEST(ConfidenceTest, EvidenceSignalsAndEdges) {
  EXPECT_EQ(RetrievalEvidence({}, "anything?"), 0.0);
  EXPECT_EQ(Confidence({}, 1.0, "anything?"), 0.0);
  Passage p;
  p.number = 1;
  p.text = "The tower is 330 metres tall.";
  const std::vector<Passage> one = {p};
  // Coverage only (no scores): every question term present.
  EXPECT_DOUBLE_EQ(RetrievalEvidence(one, "How tall is the tower?"), 1.0);
  EXPECT_DOUBLE_EQ(RetrievalEvidence(one, "How tall is the bridge?"), std::pow(0.5, 1.5));
  std::vector<Passage> scored = one;
  scored[0].vector_score = 0.5;
  scored[0].text_score = 4.0;
  EXPECT_NEAR(RetrievalEvidence(scored, "How tall is the tower?"),
              (0.6 * 1 + 0.25 * 1 + 0.15 * 0.5) / 1.0, 1e-9);
  // Grounding scales between the floor and 1.
  EXPECT_NEAR(Confidence(one, 0.0, "How tall is the tower?"), 0.2, 1e-9);
  EXPECT_NEAR(Confidence(one, 1.0, "How tall is the tower?"), 1.0, 1e-9);
}

TEST(ConfidenceTest, ShouldAbstainAtTheThreshold) {
  EXPECT_TRUE(ShouldAbstain(0.34));
  EXPECT_FALSE(ShouldAbstain(0.35));
  EXPECT_TRUE(ShouldAbstain(0.5, 0.6));
}

TEST(NoAnswerTest, Detects) {
  EXPECT_TRUE(IsNoAnswer("The documents do not contain an answer to this question."));
  EXPECT_TRUE(IsNoAnswer("the documents do NOT contain an answer to this question"));
  EXPECT_TRUE(IsNoAnswer(models::builtin::kNoAnswer));
  EXPECT_TRUE(IsNoAnswer("Sorry. The documents do not contain an answer to this question. [1]"));
  EXPECT_TRUE(IsNoAnswer("Nothing here.", "Nothing here."));
  EXPECT_TRUE(IsNoAnswer("I don't know."));
  EXPECT_TRUE(IsNoAnswer("The provided sources do not mention the boiling point of mercury."));
  EXPECT_TRUE(IsNoAnswer("There is not enough information to answer."));
  EXPECT_TRUE(IsNoAnswer(""));
  EXPECT_TRUE(IsNoAnswer("  [1] "));
}

TEST(NoAnswerTest, RealAnswersAreNotRefusals) {
  EXPECT_FALSE(IsNoAnswer("The tower is 330 metres tall [1]."));
  EXPECT_FALSE(IsNoAnswer("No, the bar does not contain nuts [2]."));
  EXPECT_FALSE(IsNoAnswer("Damage from water or drops is not covered by the warranty."));
  EXPECT_FALSE(IsNoAnswer("Its main source is Lake Victoria."));
  // The no-answer text beside real claims (the builtin may pick both).
  EXPECT_FALSE(IsNoAnswer(
      "The documents do not contain an answer to this question. A refund requires the receipt."));
}

}  // namespace
}  // namespace basalt::rag
