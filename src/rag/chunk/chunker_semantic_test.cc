#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rag/chunk/chunk_test_util.h"
#include "rag/chunk/chunker.h"

namespace basalt::rag {
namespace {

using testing::CheckChunks;
using testing::Doc;

ChunkingConfig Semantic(int max_tokens = 300, int buffer = 0, int percentile = 95) {
  ChunkingConfig c;
  c.strategy = ChunkingStrategy::kSemantic;
  c.max_tokens = max_tokens;
  c.buffer_size = buffer;
  c.breakpoint_percentile = percentile;
  return c;
}

const char kSixSentences[] =
    "Cats purr. Cats nap all day. Cats chase mice. "
    "Stocks fell today. Markets were down. Bonds rallied.";

TEST(SemanticChunkerTest, UnitsAreSentencesWithTheirBufferNeighbours) {
  const Extracted doc = Doc(kSixSentences);
  const auto solo = SemanticUnits(doc, Semantic());
  ASSERT_EQ(solo.size(), 6u);
  EXPECT_EQ(solo[1].text, "Cats nap all day.");
  EXPECT_EQ(doc.text.substr(solo[1].begin, solo[1].end - solo[1].begin), "Cats nap all day.");
  EXPECT_EQ(solo[1].tokens, 5);

  const auto buffered = SemanticUnits(doc, Semantic(300, 1));
  ASSERT_EQ(buffered.size(), 6u);
  EXPECT_EQ(buffered[0].text, "Cats purr. Cats nap all day.");
  EXPECT_EQ(buffered[1].text, "Cats purr. Cats nap all day. Cats chase mice.");
  EXPECT_EQ(buffered[5].text, "Markets were down. Bonds rallied.");
  EXPECT_EQ(doc.text.substr(buffered[1].begin, buffered[1].end - buffered[1].begin),
            "Cats nap all day.");
}

TEST(SemanticChunkerTest, BreaksWhereTheDistanceIsAboveThePercentile) {
  const Extracted doc = Doc(kSixSentences);
  const auto units = SemanticUnits(doc, Semantic());
  // Distances: 0.005, 0.018, 0.71 (the topic change), 0.005, 0.005.
  const std::vector<std::vector<float>> vectors = {{1, 0},    {1, 0.1f}, {1, 0.3f},
                                                   {0, 1},    {0.1f, 1}, {0, 1}};
  auto chunks = SemanticChunks(doc, units, vectors, Semantic());
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_EQ(chunks->size(), 2u);
  EXPECT_EQ((*chunks)[0].text, "Cats purr. Cats nap all day. Cats chase mice.");
  EXPECT_EQ((*chunks)[1].text, "Stocks fell today. Markets were down. Bonds rallied.");
  CheckChunks(doc, *chunks, {.max_tokens = 300});

  // The median is 0.005: the two distances strictly above it break.
  chunks = SemanticChunks(doc, units, vectors, Semantic(300, 0, 50));
  ASSERT_TRUE(chunks.ok());
  ASSERT_EQ(chunks->size(), 3u);
  EXPECT_EQ((*chunks)[0].text, "Cats purr. Cats nap all day.");
  EXPECT_EQ((*chunks)[1].text, "Cats chase mice.");
  CheckChunks(doc, *chunks, {.max_tokens = 300});
}

TEST(SemanticChunkerTest, EqualDistancesNeverBreakButMaxTokensStillHolds) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "Same topic sentence here. ";
  const Extracted doc = Doc(text);
  const auto units = SemanticUnits(doc, Semantic(50));
  const std::vector<std::vector<float>> vectors(units.size(), std::vector<float>{0.6f, 0.8f});
  auto chunks = SemanticChunks(doc, units, vectors, Semantic(50));
  ASSERT_TRUE(chunks.ok());
  EXPECT_GE(chunks->size(), 200u * 5 / 50);
  CheckChunks(doc, *chunks, {.max_tokens = 50});
}

TEST(SemanticChunkerTest, ZeroVectorsAreFarFromEverything) {
  const Extracted doc = Doc(kSixSentences);
  const auto units = SemanticUnits(doc, Semantic());
  std::vector<std::vector<float>> vectors(6, std::vector<float>{1, 0});
  vectors[3] = {0, 0};
  // Distances 0 0 1 1 0; the median is 0.
  auto chunks = SemanticChunks(doc, units, vectors, Semantic(300, 0, 50));
  ASSERT_TRUE(chunks.ok());
  CheckChunks(doc, *chunks, {});
  ASSERT_EQ(chunks->size(), 3u);
  EXPECT_EQ((*chunks)[1].text, "Stocks fell today.");
}

TEST(SemanticChunkerTest, LongSentencesAndCjkStayWithinBoundsAndCovered) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "長い文章が続きます";
  text += "。\nShort one. ";
  for (int i = 0; i < 200; ++i) text += "emoji😀 ";
  const Extracted doc = Doc(text);
  const auto units = SemanticUnits(doc, Semantic(40, 1));
  std::vector<std::vector<float>> vectors;
  for (size_t i = 0; i < units.size(); ++i) {
    vectors.push_back({static_cast<float>(i % 3), 1.0f});
    EXPECT_LE(units[i].tokens, 40);
  }
  auto chunks = SemanticChunks(doc, units, vectors, Semantic(40, 1));
  ASSERT_TRUE(chunks.ok());
  CheckChunks(doc, *chunks, {.max_tokens = 40});
}

TEST(SemanticChunkerTest, EmptyDocumentHasNoUnitsAndNoChunks) {
  const Extracted doc = Doc("  \n ");
  const auto units = SemanticUnits(doc, Semantic());
  EXPECT_TRUE(units.empty());
  auto chunks = SemanticChunks(doc, units, {}, Semantic());
  ASSERT_TRUE(chunks.ok());
  EXPECT_TRUE(chunks->empty());
}

TEST(SemanticChunkerTest, RejectsMismatchedInputs) {
  const Extracted doc = Doc(kSixSentences);
  const auto units = SemanticUnits(doc, Semantic());
  auto few = SemanticChunks(doc, units, {{1, 0}}, Semantic());
  EXPECT_EQ(few.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(few.status().message()), ::testing::HasSubstr("1 vectors for 6 units"));

  std::vector<std::vector<float>> ragged(6, std::vector<float>{1, 0});
  ragged[4] = {1, 0, 0};
  auto dims = SemanticChunks(doc, units, ragged, Semantic());
  EXPECT_THAT(std::string(dims.status().message()), ::testing::HasSubstr("unit_vectors[4]"));

  auto other = SemanticUnits(Doc(std::string(kSixSentences) + " And a much longer tail here."),
                             Semantic());
  other.resize(7);
  std::vector<std::vector<float>> seven(7, std::vector<float>{1, 0});
  auto span = SemanticChunks(doc, other, seven, Semantic());
  EXPECT_THAT(std::string(span.status().message()), ::testing::HasSubstr("units[6]"));

  auto bad = SemanticChunks(doc, units, ragged, Semantic(300, 0, 10));
  EXPECT_THAT(std::string(bad.status().message()),
              ::testing::HasSubstr("breakpointPercentileThreshold: must be 50..99"));
}

}  // namespace
}  // namespace basalt::rag
