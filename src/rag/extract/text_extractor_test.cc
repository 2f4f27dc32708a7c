#include "rag/extract/text_extractor.h"

#include <gtest/gtest.h>

#include "rag/extract/markdown_extractor.h"

namespace basalt::rag::extract {
namespace {

std::string Span(const Extracted& e, const Heading& h) {
  return e.text.substr(h.begin, h.end - h.begin);
}

TEST(TextExtractor, CleansAndCountsReplacements) {
  TextExtractor text;
  absl::StatusOr<Extracted> out = text.Extract("\xEF\xBB\xBFline1\r\nline2 \xFF", {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->text, "line1\nline2 \uFFFD");
  EXPECT_TRUE(out->pages.empty());
  ASSERT_EQ(out->warnings.size(), 1u);
  EXPECT_EQ(out->extractor, "text");
  EXPECT_EQ(out->version, "text/1");
  EXPECT_TRUE(text.Accepts("text/csv"));
  EXPECT_TRUE(text.Accepts("application/json"));
  EXPECT_FALSE(text.Accepts("text/html"));
  EXPECT_FALSE(text.Accepts("application/pdf"));
}

TEST(TextExtractor, TextLimit) {
  ExtractLimits limits;
  limits.max_text_bytes = 4;
  absl::StatusOr<Extracted> out = TextExtractor().Extract("hello", limits);
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("extracted text is over its limit"), std::string_view::npos);
}

TEST(MarkdownExtractor, AtxAndSetextHeadings) {
  const std::string md =
      "---\ntitle: not a heading\n---\n"
      "# Title #\n\nIntro text.\n\n## Section  two ##\n"
      "Setext One\n==========\n\n"
      "Setext\nTwo lines\n---\n\n"
      "```\n# not a heading\n```\n"
      "- item\n---\n\n"
      "#hashtag is not a heading\n"
      "    # indented code\n"
      "###### Six\n#\n";
  absl::StatusOr<Extracted> out = MarkdownExtractor().Extract(md, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->text, md);
  ASSERT_EQ(out->headings.size(), 5u);
  EXPECT_EQ(Span(*out, out->headings[0]), "Title");
  EXPECT_EQ(out->headings[0].level, 1);
  EXPECT_EQ(Span(*out, out->headings[1]), "Section  two");
  EXPECT_EQ(out->headings[1].level, 2);
  EXPECT_EQ(Span(*out, out->headings[2]), "Setext One");
  EXPECT_EQ(out->headings[2].level, 1);
  EXPECT_EQ(Span(*out, out->headings[3]), "Setext\nTwo lines");
  EXPECT_EQ(out->headings[3].level, 2);
  EXPECT_EQ(Span(*out, out->headings[4]), "Six");
  EXPECT_EQ(out->headings[4].level, 6);
  EXPECT_EQ(out->extractor, "markdown");
}

TEST(MarkdownExtractor, CrlfOffsetsPointIntoTheCleanText) {
  absl::StatusOr<Extracted> out = MarkdownExtractor().Extract("a\r\n\r\n# Head\r\nbody", {});
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->headings.size(), 1u);
  EXPECT_EQ(Span(*out, out->headings[0]), "Head");
}

}  // namespace
}  // namespace basalt::rag::extract
