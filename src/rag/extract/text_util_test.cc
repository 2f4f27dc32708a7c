#include "rag/extract/text_util.h"

#include <gtest/gtest.h>

#include "rag/extract/text_builder.h"
#include "rag/extract/text_metrics.h"

namespace basalt::rag::extract {
namespace {

TEST(CleanUtf8, KeepsValidTextAndNormalisesLineEnds) {
  size_t replaced = 99;
  EXPECT_EQ(CleanUtf8("a\r\nb\rc\nd €😀", &replaced), "a\nb\nc\nd €😀");
  EXPECT_EQ(replaced, 0u);
}

TEST(CleanUtf8, ReplacesEachInvalidSubpartOnce) {
  size_t replaced = 0;
  // Lone continuation, overlong '/', surrogate, truncated 3-byte, NUL, 0xFF.
  const std::string in = std::string("x\x80y\xC0\xAFz\xED\xA0\x80w\xE2\x82") + '\0' + "\xFF";
  const std::string out = CleanUtf8(in, &replaced);
  EXPECT_EQ(out, "x\uFFFDy\uFFFD\uFFFDz\uFFFD\uFFFD\uFFFDw\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(replaced, 9u);
}

TEST(CleanUtf8, Latin1AndPrefix) {
  EXPECT_EQ(Latin1ToUtf8("caf\xE9"), "café");
  EXPECT_EQ(Utf8Prefix("aé", 2), 1u);  // does not cut 'é' in half
  EXPECT_EQ(Utf8Prefix("aé", 3), 3u);
}

TEST(Deadline, ZeroBudgetIsSpentAtOnce) {
  const Deadline d(std::chrono::milliseconds(0));
  const absl::Status s = d.Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("rag.max_extract_ms"), std::string_view::npos);
  EXPECT_TRUE(Deadline(std::chrono::milliseconds(60000)).Check().ok());
}

TEST(TextBuilder, BlocksListsTablesAndHeadings) {
  TextBuilder b(1 << 20);
  b.BeginHeading(2);
  b.AddInline("  The   Title ");
  b.EndHeading();
  b.RequestBreak(TextBuilder::Break::kParagraph);
  b.AddInline("one\n two");
  b.RequestBreak(TextBuilder::Break::kParagraph);
  b.StartPrefixedLine("- ");
  b.RequestBreak(TextBuilder::Break::kParagraph);  // a <p> inside the li
  b.AddInline(" first");
  b.EndPrefixedLine();
  b.StartPrefixedLine("- ");
  b.EndPrefixedLine();  // an empty item leaves nothing
  b.StartPrefixedLine("- ");
  b.AddInline("second");
  b.EndPrefixedLine();
  b.RequestBreak(TextBuilder::Break::kParagraph);
  b.AddInline("a");
  b.AddSeparator(" | ");
  b.AddSeparator(" | ");
  b.PushSuppressBreaks();
  b.AddInline("c");
  b.RequestBreak(TextBuilder::Break::kParagraph);
  b.AddInline("d");
  b.PopSuppressBreaks();
  Extracted out;
  b.Finish(&out);
  EXPECT_EQ(out.text, "The Title\n\none two\n\n- first\n- second\n\na | | c d");
  ASSERT_EQ(out.headings.size(), 1u);
  EXPECT_EQ(out.headings[0].level, 2);
  EXPECT_EQ(out.text.substr(out.headings[0].begin, out.headings[0].end - out.headings[0].begin),
            "The Title");
}

TEST(TextBuilder, StopsAtTheLimit) {
  TextBuilder b(10);
  b.AddInline("0123456789abc");
  EXPECT_TRUE(b.over_limit());
}

TEST(TextMetrics, CharacterErrorRate) {
  EXPECT_DOUBLE_EQ(CharacterErrorRate("a  b\nc", "a b c"), 0.0);
  EXPECT_DOUBLE_EQ(CharacterErrorRate("abcd", "abed"), 0.25);
  EXPECT_DOUBLE_EQ(CharacterErrorRate("žluť", "zluť"), 0.25);  // code points, not bytes
  EXPECT_DOUBLE_EQ(CharacterErrorRate("", ""), 0.0);
  EXPECT_EQ(RemoveWhitespace(" a b\n\tc "), "abc");
}

}  // namespace
}  // namespace basalt::rag::extract
