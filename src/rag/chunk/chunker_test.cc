#include "rag/chunk/chunker.h"

#include <algorithm>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/builtin/tokenizer.h"
#include "nlohmann/json.hpp"
#include "rag/chunk/chunk_test_util.h"

namespace basalt::rag {
namespace {

using models::builtin::CountTokens;
using testing::CheckChunks;
using testing::Doc;
using testing::Prose;

ChunkingConfig Config(ChunkingStrategy strategy) {
  ChunkingConfig c;
  c.strategy = strategy;
  return c;
}

std::vector<Chunk> ChunkOk(const Extracted& doc, const ChunkingConfig& config) {
  auto chunks = ChunkDocument(doc, config);
  EXPECT_TRUE(chunks.ok()) << chunks.status();
  return chunks.ok() ? *std::move(chunks) : std::vector<Chunk>{};
}

std::string_view SpanOf(const Extracted& doc, size_t begin, size_t end) {
  return std::string_view(doc.text).substr(begin, end - begin);
}

const ChunkingStrategy kDocumentStrategies[] = {
    ChunkingStrategy::kDefault, ChunkingStrategy::kFixedSize, ChunkingStrategy::kHierarchical,
    ChunkingStrategy::kNone, ChunkingStrategy::kMarkdown};

TEST(ChunkerTest, BlankDocumentsGiveNoChunks) {
  for (ChunkingStrategy s : kDocumentStrategies) {
    EXPECT_TRUE(ChunkOk(Doc(""), Config(s)).empty()) << ChunkingStrategyName(s);
    EXPECT_TRUE(ChunkOk(Doc(" \n\t\r\n  \f"), Config(s)).empty()) << ChunkingStrategyName(s);
  }
}

TEST(ChunkerTest, ShortDocumentIsOneTrimmedChunkInEveryStrategy) {
  const Extracted doc = Doc("\n  Hello world. A second sentence!  \n");
  for (ChunkingStrategy s : kDocumentStrategies) {
    const auto chunks = ChunkOk(doc, Config(s));
    const size_t searchable = s == ChunkingStrategy::kHierarchical ? 1 : 0;
    ASSERT_EQ(chunks.size(), 1 + searchable) << ChunkingStrategyName(s);
    EXPECT_EQ(chunks.back().text, "Hello world. A second sentence!");
    EXPECT_EQ(chunks.back().begin, 3u);
    EXPECT_EQ(chunks.back().pages.first, 0);
  }
}

TEST(ChunkerTest, DefaultPacksWholeSentencesWithinTheTokenBudget) {
  const Extracted doc = Doc(Prose(6, 14));
  const auto chunks = ChunkOk(doc, Config(ChunkingStrategy::kDefault));
  ASSERT_GT(chunks.size(), 3u);
  CheckChunks(doc, chunks, {.max_tokens = 300});
  for (const Chunk& c : chunks) {
    EXPECT_EQ(c.text.back(), '.') << "ends at a sentence end";
    EXPECT_TRUE(c.text[0] >= 'A' && c.text[0] <= 'Z') << "begins at a sentence start";
  }
}

TEST(ChunkerTest, DefaultPrefersParagraphBreaks) {
  // Paragraphs of 100..145 tokens: two fit in 300 tokens, three do not, so
  // every chunk should hold whole paragraphs.
  std::string text;
  for (uint32_t seed = 1; seed < 200 && std::count(text.begin(), text.end(), '\n') < 20; ++seed) {
    std::string paragraph;
    for (int n = 1; CountTokens(paragraph) < 100; ++n) paragraph = Prose(1, n, seed);
    if (CountTokens(paragraph) > 145) continue;
    text += (text.empty() ? "" : "\n\n") + paragraph;
  }
  const Extracted doc = Doc(text);
  const auto chunks = ChunkOk(doc, Config(ChunkingStrategy::kDefault));
  CheckChunks(doc, chunks, {.max_tokens = 300});
  for (const Chunk& c : chunks) {
    EXPECT_TRUE(c.begin == 0 || doc.text.substr(c.begin - 2, 2) == "\n\n") << c.text;
    EXPECT_TRUE(c.end == doc.text.size() || doc.text.substr(c.end, 2) == "\n\n") << c.text;
  }
}

TEST(ChunkerTest, DefaultOverlapsOneShortSentenceInsideAParagraph) {
  std::string text;
  for (int i = 0; i < 120; ++i) text += "Sentence number " + std::to_string(i) + " is short. ";
  const Extracted doc = Doc(text);
  const auto chunks = ChunkOk(doc, Config(ChunkingStrategy::kDefault));
  ASSERT_GE(chunks.size(), 2u);
  CheckChunks(doc, chunks, {.max_tokens = 300});
  for (size_t i = 1; i < chunks.size(); ++i) {
    ASSERT_LT(chunks[i].begin, chunks[i - 1].end);
    EXPECT_THAT(std::string(SpanOf(doc, chunks[i].begin, chunks[i - 1].end)),
                ::testing::MatchesRegex("Sentence number [0-9]+ is short\\."));
  }
}

TEST(ChunkerTest, DefaultCutsASentenceOverTheBudgetAtTokens) {
  std::string text = "Intro sentence.\n";
  for (int i = 0; i < 900; ++i) text += "word" + std::to_string(i % 10) + " ";
  text += "\nOutro.";
  const Extracted doc = Doc(text);
  auto config = Config(ChunkingStrategy::kDefault);
  config.max_tokens = 100;
  const auto chunks = ChunkOk(doc, config);
  CheckChunks(doc, chunks, {.max_tokens = 100});
  EXPECT_GE(chunks.size(), 18u);  // 1800 tokens of words
  for (const Chunk& c : chunks) {
    EXPECT_TRUE(c.end == doc.text.size() || testing::IsWs(doc.text[c.end])) << "cut at a space";
  }
}

TEST(ChunkerTest, FixedSizeWindowsOverlapByThePercentage) {
  const Extracted doc = Doc(Prose(5, 20, 3));
  auto config = Config(ChunkingStrategy::kFixedSize);
  config.max_tokens = 100;
  config.overlap_percentage = 20;
  const auto chunks = ChunkOk(doc, config);
  ASSERT_GT(chunks.size(), 10u);
  CheckChunks(doc, chunks, {.max_tokens = 100});
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& c = chunks[i];
    if (i + 1 < chunks.size()) {
      EXPECT_GE(CountTokens(c.text), 50) << "a cut moves back at most half a window";
    }
    EXPECT_TRUE(c.begin == 0 || testing::IsWs(doc.text[c.begin - 1])) << "starts at a word";
    EXPECT_TRUE(c.end == doc.text.size() || testing::IsWs(doc.text[c.end]) ||
                doc.text[c.end] == ',' || doc.text[c.end] == '.')
        << "ends at a word";
    if (i == 0) continue;
    ASSERT_LT(c.begin, chunks[i - 1].end);
    const auto overlap = CountTokens(SpanOf(doc, c.begin, chunks[i - 1].end));
    EXPECT_GE(overlap, 10);
    EXPECT_LE(overlap, 20);
  }
}

TEST(ChunkerTest, FixedSizeOfOneTokenMakesProgress) {
  const Extracted doc = Doc("a bb, ccccc.dd");
  auto config = Config(ChunkingStrategy::kFixedSize);
  config.max_tokens = 1;
  config.overlap_percentage = 99;
  const auto chunks = ChunkOk(doc, config);
  CheckChunks(doc, chunks, {.max_tokens = 1});
  EXPECT_EQ(chunks.size(), static_cast<size_t>(CountTokens(doc.text)));
}

TEST(ChunkerTest, HierarchicalChildrenPointAtTheParentThatHoldsThem) {
  const Extracted doc = Doc(Prose(12, 15, 5));
  auto config = Config(ChunkingStrategy::kHierarchical);
  config.parent_max_tokens = 500;
  config.child_max_tokens = 120;
  config.overlap_tokens = 30;
  const auto chunks = ChunkOk(doc, config);
  CheckChunks(doc, chunks, {.max_tokens = 500});
  size_t parents = 0;
  size_t prev_parent_end = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& c = chunks[i];
    if (!c.searchable) {
      ++parents;
      EXPECT_EQ(c.parent, -1);
      EXPECT_GE(c.begin, prev_parent_end) << "parents do not overlap";
      prev_parent_end = c.end;
      continue;
    }
    ASSERT_GE(c.parent, 0);
    ASSERT_LT(static_cast<size_t>(c.parent), i);
    const Chunk& p = chunks[static_cast<size_t>(c.parent)];
    EXPECT_FALSE(p.searchable);
    EXPECT_GE(c.begin, p.begin);
    EXPECT_LE(c.end, p.end);
    EXPECT_LE(CountTokens(c.text), 120);
    const Chunk& prev = chunks[i - 1];
    if (prev.searchable && prev.parent == c.parent) {
      ASSERT_LT(c.begin, prev.end);
      const auto overlap = CountTokens(SpanOf(doc, c.begin, prev.end));
      EXPECT_GE(overlap, 15);
      EXPECT_LE(overlap, 30);
    }
  }
  EXPECT_GE(parents, 4u);
}

TEST(ChunkerTest, NoneIsTheWholeDocument) {
  const Extracted doc = Doc("  " + Prose(40, 10) + "\n");
  const auto chunks = ChunkOk(doc, Config(ChunkingStrategy::kNone));
  ASSERT_EQ(chunks.size(), 1u);
  CheckChunks(doc, chunks, {});
  EXPECT_EQ(chunks[0].begin, 2u);
  EXPECT_EQ(chunks[0].end, doc.text.size() - 1);
}

TEST(ChunkerTest, PagesAreTheFirstAndLastPageTheSpanOverlaps) {
  Extracted doc = Doc(Prose(1, 30, 1) + "\f" + Prose(1, 30, 2) + "\f\f" + Prose(1, 30, 3));
  const size_t f1 = doc.text.find('\f');
  const size_t f2 = doc.text.find('\f', f1 + 1);
  doc.pages = {{1, 0, f1}, {2, f1 + 1, f2}, {3, f2 + 1, f2 + 1}, {4, f2 + 2, doc.text.size()}};
  for (ChunkingStrategy s : kDocumentStrategies) {
    auto config = Config(s);
    config.max_tokens = 80;
    config.overlap_percentage = 50;
    config.parent_max_tokens = 200;
    config.child_max_tokens = 80;
    const auto chunks = ChunkOk(doc, config);
    SCOPED_TRACE(std::string(ChunkingStrategyName(s)));
    CheckChunks(doc, chunks, {});
    EXPECT_EQ(chunks.front().pages.first, 1);
    EXPECT_EQ(chunks.back().pages.last, 4);
    bool spans_two = false;
    for (const Chunk& c : chunks) spans_two = spans_two || c.pages.first != c.pages.last;
    if (s == ChunkingStrategy::kFixedSize) {
      EXPECT_TRUE(spans_two);
    }
  }
  auto none = ChunkOk(doc, Config(ChunkingStrategy::kNone));
  EXPECT_EQ(none[0].pages.first, 1);
  EXPECT_EQ(none[0].pages.last, 4);
}

TEST(ChunkerTest, CjkAndEmojiAreNeverCutInsideACharacter) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "日本語の文章です。";
  text += "\n";
  for (int i = 0; i < 300; ++i) text += "emoji 😀🎉👍🏽 ok, ";
  text += "\n";
  for (int i = 0; i < 200; ++i) text += "naïve café résumé ";
  const Extracted doc = Doc(text);
  for (ChunkingStrategy s : kDocumentStrategies) {
    for (int max : {1, 7, 64, 300}) {
      auto config = Config(s);
      config.max_tokens = max;
      config.parent_max_tokens = max * 3;
      config.child_max_tokens = max;
      config.overlap_tokens = std::max(1, max / 4);
      if (config.overlap_tokens >= max) config.overlap_tokens = 0;
      if (s == ChunkingStrategy::kHierarchical && config.overlap_tokens == 0) continue;
      SCOPED_TRACE(std::string(ChunkingStrategyName(s)) + " max " + std::to_string(max));
      const auto chunks = ChunkOk(doc, config);
      CheckChunks(doc, chunks,
                  {.max_tokens = s == ChunkingStrategy::kNone           ? 0
                                 : s == ChunkingStrategy::kHierarchical ? max * 3
                                                                        : max});
    }
  }
}

TEST(ChunkerTest, MalformedUtf8NeverCrashesAndKeepsCoverage) {
  std::string text = "abc \xE6\x97 def\xF0\x9F\x98 ghi \xFF\xFE. ";
  for (int i = 0; i < 50; ++i) text += "\xC3 word\x80\x80 ";
  const Extracted doc = Doc(text);
  for (ChunkingStrategy s : kDocumentStrategies) {
    auto config = Config(s);
    config.max_tokens = 5;
    config.parent_max_tokens = 20;
    config.child_max_tokens = 5;
    config.overlap_tokens = 1;
    CheckChunks(doc, ChunkOk(doc, config), {});
  }
}

TEST(ChunkerTest, RejectsBadConfigsAndSemantic) {
  auto config = Config(ChunkingStrategy::kFixedSize);
  config.max_tokens = 0;
  EXPECT_EQ(ChunkDocument(Doc("x"), config).status().code(), absl::StatusCode::kInvalidArgument);
  auto semantic = ChunkDocument(Doc("x"), Config(ChunkingStrategy::kSemantic));
  EXPECT_EQ(semantic.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(semantic.status().message()), ::testing::HasSubstr("SemanticUnits"));
}

// Real abstracts: the first 300 documents of SciFact, titles as headings.
Extracted SciFactSample() {
  std::ifstream in(BASALT_SHARED_DIR "/datasets/scifact/corpus.jsonl");
  Extracted doc;
  std::string line;
  for (int i = 0; i < 300 && std::getline(in, line); ++i) {
    const auto j = nlohmann::json::parse(line);
    const std::string title = j.value("title", "");
    doc.headings.push_back({1, doc.text.size(), doc.text.size() + title.size()});
    doc.text += title + "\n\n" + j.value("text", "") + "\n\n";
  }
  return doc;
}

TEST(ChunkerTest, SciFactSampleKeepsEveryInvariant) {
  const Extracted doc = SciFactSample();
  ASSERT_GT(doc.text.size(), 100000u);
  for (ChunkingStrategy s : kDocumentStrategies) {
    SCOPED_TRACE(std::string(ChunkingStrategyName(s)));
    const auto chunks = ChunkOk(doc, Config(s));
    CheckChunks(doc, chunks,
                {.max_tokens = s == ChunkingStrategy::kNone           ? 0
                               : s == ChunkingStrategy::kHierarchical ? 1500
                                                                      : 300,
                 .prefixed = s == ChunkingStrategy::kMarkdown});
  }
}

}  // namespace
}  // namespace basalt::rag
