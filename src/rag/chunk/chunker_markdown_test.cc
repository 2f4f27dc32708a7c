#include <string>

#include "gtest/gtest.h"
#include "models/builtin/tokenizer.h"
#include "rag/chunk/chunk_test_util.h"
#include "rag/chunk/chunker.h"

namespace basalt::rag {
namespace {

using testing::CheckChunks;

// Builds a document line by line; heading lines are recorded as headings.
class DocBuilder {
 public:
  DocBuilder& Heading(int level, const std::string& text) {
    doc_.headings.push_back({level, doc_.text.size(), doc_.text.size() + text.size()});
    doc_.text += text + "\n\n";
    return *this;
  }
  DocBuilder& Body(const std::string& text) {
    doc_.text += text + "\n\n";
    return *this;
  }
  Extracted Build() const { return doc_; }

 private:
  Extracted doc_;
};

std::vector<Chunk> Markdown(const Extracted& doc, int max_tokens = 300) {
  ChunkingConfig config;
  config.strategy = ChunkingStrategy::kMarkdown;
  config.max_tokens = max_tokens;
  auto chunks = ChunkDocument(doc, config);
  EXPECT_TRUE(chunks.ok()) << chunks.status();
  CheckChunks(doc, *chunks, {.max_tokens = max_tokens, .prefixed = true});
  return *std::move(chunks);
}

TEST(MarkdownChunkerTest, PrefixesEachSectionWithItsHeadingPath) {
  const Extracted doc = DocBuilder()
                            .Body("Preamble text.")
                            .Heading(1, "Guide")
                            .Body("Intro text.")
                            .Heading(2, "Install")
                            .Body("Run make.")
                            .Heading(3, "Linux")
                            .Body("Use apt.")
                            .Heading(2, "Usage")
                            .Body("Call it.")
                            .Heading(1, "Appendix")
                            .Body("More.")
                            .Build();
  const auto chunks = Markdown(doc);
  ASSERT_EQ(chunks.size(), 6u);
  EXPECT_EQ(chunks[0].text, "Preamble text.");
  EXPECT_EQ(chunks[1].text, "Guide\n\nGuide\n\nIntro text.");
  EXPECT_EQ(chunks[2].text, "Guide > Install\n\nInstall\n\nRun make.");
  EXPECT_EQ(chunks[3].text, "Guide > Install > Linux\n\nLinux\n\nUse apt.");
  EXPECT_EQ(chunks[4].text, "Guide > Usage\n\nUsage\n\nCall it.");
  EXPECT_EQ(chunks[5].text, "Appendix\n\nAppendix\n\nMore.");
  EXPECT_EQ(doc.text.substr(chunks[2].begin, chunks[2].end - chunks[2].begin),
            "Install\n\nRun make.");
}

TEST(MarkdownChunkerTest, AHeadingWithNoBodyJoinsTheNextSection) {
  const Extracted doc = DocBuilder()
                            .Heading(1, "Guide")
                            .Heading(2, "Install")
                            .Body("Run make.")
                            .Heading(2, "Empty at the end")
                            .Build();
  const auto chunks = Markdown(doc);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, "Guide > Install\n\nGuide\n\nInstall\n\nRun make.");
  EXPECT_EQ(chunks[1].text, "Guide > Empty at the end\n\nEmpty at the end");
}

TEST(MarkdownChunkerTest, ALongSectionIsSplitAndEveryPieceKeepsThePath) {
  DocBuilder b;
  b.Heading(1, "Manual").Heading(2, "Reference");
  for (int i = 0; i < 6; ++i) b.Body(testing::Prose(1, 12, static_cast<uint32_t>(i)));
  const Extracted doc = b.Build();
  const auto chunks = Markdown(doc, 120);
  ASSERT_GE(chunks.size(), 4u);
  for (const Chunk& c : chunks) {
    EXPECT_EQ(c.text.rfind("Manual > Reference\n\n", 0), 0u) << c.text;
  }
}

TEST(MarkdownChunkerTest, APathTooLongForTheBudgetIsLeftOut) {
  const std::string long_heading(200, 'x');  // 50 tokens
  const Extracted doc = DocBuilder().Heading(1, long_heading).Body("Short body.").Build();
  const auto chunks = Markdown(doc, 60);
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks[0].text.rfind(long_heading + "\n\n" + long_heading, 0), std::string::npos);
}

TEST(MarkdownChunkerTest, HeadingsWithMarkersAndBadSpansAreHandled) {
  Extracted doc;
  doc.text = "# Title\nBody one.\n## Sub\nBody two.";
  doc.headings = {{1, 2, 7}, {2, 21, 24}, {2, 5, 6} /* out of order */, {9, 1000, 1001}};
  const auto chunks = Markdown(doc);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, "Title\n\n# Title\nBody one.");
  EXPECT_EQ(chunks[1].text, "Title > Sub\n\n## Sub\nBody two.");
}

TEST(MarkdownChunkerTest, WithoutHeadingsItIsDefault) {
  const Extracted doc = testing::Doc(testing::Prose(4, 15));
  ChunkingConfig def;
  auto want = ChunkDocument(doc, def);
  ASSERT_TRUE(want.ok());
  const auto got = Markdown(doc);
  ASSERT_EQ(got.size(), want->size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].text, (*want)[i].text);
}

}  // namespace
}  // namespace basalt::rag
