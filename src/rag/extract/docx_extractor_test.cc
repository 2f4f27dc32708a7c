#include "rag/extract/docx_extractor.h"

#include <gtest/gtest.h>

#include "rag/extract/test_support.h"

namespace basalt::rag::extract {
namespace {

using testing::MakeDocx;
using testing::MakeZip;

std::string Span(const Extracted& e, const Heading& h) {
  return e.text.substr(h.begin, h.end - h.begin);
}

std::string P(const std::string& text, const std::string& ppr = "") {
  return "<w:p>" + (ppr.empty() ? "" : "<w:pPr>" + ppr + "</w:pPr>") +
         "<w:r><w:t xml:space=\"preserve\">" + text + "</w:t></w:r></w:p>";
}

TEST(DocxExtractor, ParagraphsHeadingsListsAndTables) {
  const std::string styles =
      "<w:style w:type=\"paragraph\" w:styleId=\"berschrift1\"><w:name w:val=\"heading 1\"/>"
      "</w:style><w:style w:type=\"paragraph\" w:styleId=\"MyHead\"><w:name w:val=\"My Head\"/>"
      "<w:basedOn w:val=\"berschrift1\"/></w:style>"
      "<w:style w:type=\"paragraph\" w:styleId=\"ListBullet\"><w:name w:val=\"List Bullet\"/>"
      "</w:style>";
  const std::string body =
      P("The Title", "<w:pStyle w:val=\"Title\"/>") +
      P("Intro", "<w:pStyle w:val=\"berschrift1\"/>") +
      "<w:p><w:r><w:t>Hello </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>bold</w:t></w:r>"
      "<w:r><w:tab/><w:t>tabbed</w:t><w:br/><w:t>next line</w:t></w:r>"
      "<w:del><w:r><w:delText>deleted</w:delText></w:r></w:del>"
      "<w:r><w:instrText> HYPERLINK </w:instrText></w:r></w:p>" +
      P("Based on heading", "<w:pStyle w:val=\"MyHead\"/>") +
      P("first", "<w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr>") +
      P("nested", "<w:numPr><w:ilvl w:val=\"1\"/><w:numId w:val=\"1\"/></w:numPr>") +
      P("styled item", "<w:pStyle w:val=\"ListBullet\"/>") + "<w:tbl><w:tblPr/><w:tr><w:tc>" +
      P("A1") + "</w:tc><w:tc>" + P("B1") + P("more") + "</w:tc></w:tr><w:tr><w:tc>" + P("A2") +
      "</w:tc><w:tc></w:tc></w:tr></w:tbl>" + "<w:sdt><w:sdtContent>" +
      P("In a content control", "<w:outlineLvl w:val=\"2\"/>") + "</w:sdtContent></w:sdt>" + P("") +
      P("Last.") + "<w:sectPr/>";
  absl::StatusOr<Extracted> out = DocxExtractor().Extract(MakeDocx(body, styles), {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->text,
            "The Title\n\nIntro\n\nHello bold tabbed\nnext line\n\nBased on heading\n\n"
            "- first\n  - nested\n- styled item\n\nA1 | B1 more\nA2 |\n\n"
            "In a content control\n\nLast.");
  ASSERT_EQ(out->headings.size(), 4u);
  EXPECT_EQ(Span(*out, out->headings[0]), "The Title");
  EXPECT_EQ(out->headings[0].level, 1);
  EXPECT_EQ(Span(*out, out->headings[1]), "Intro");
  EXPECT_EQ(Span(*out, out->headings[2]), "Based on heading");
  EXPECT_EQ(out->headings[2].level, 1);
  EXPECT_EQ(Span(*out, out->headings[3]), "In a content control");
  EXPECT_EQ(out->headings[3].level, 3);
  EXPECT_EQ(out->mime, kDocxMime);
  EXPECT_NE(out->version.find("pugixml-1."), std::string::npos);
}

TEST(DocxExtractor, HeadingStylesWithoutStylesXml) {
  absl::StatusOr<Extracted> out =
      DocxExtractor().Extract(MakeDocx(P("Two", "<w:pStyle w:val=\"Heading2\"/>")), {});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->headings.size(), 1u);
  EXPECT_EQ(out->headings[0].level, 2);
}

TEST(DocxExtractor, Failures) {
  DocxExtractor docx;
  EXPECT_EQ(docx.Extract("not a zip", {}).status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<Extracted> no_doc = docx.Extract(MakeZip({{"a.txt", "x"}}), {});
  ASSERT_EQ(no_doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_doc.status().message().find("word/document.xml"), std::string_view::npos);
  absl::StatusOr<Extracted> bad_xml =
      docx.Extract(MakeZip({{"word/document.xml", "<w:document><w:body>"}}), {});
  ASSERT_EQ(bad_xml.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_xml.status().message().find("well-formed"), std::string_view::npos);
}

TEST(DocxExtractor, ZipBombIsCappedWhileDecompressing) {
  // 8 MiB of one paragraph repeated compresses to a few KiB.
  std::string body;
  const std::string p =
      P("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  while (body.size() < (8u << 20)) body += p;
  const std::string docx = MakeDocx(body);
  ASSERT_LT(docx.size(), 200u << 10);
  ExtractLimits limits;
  limits.max_bytes = 1u << 20;
  absl::StatusOr<Extracted> out = DocxExtractor().Extract(docx, limits);
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("rag.max_document_bytes"), std::string_view::npos);
  limits = {};
  limits.max_text_bytes = 1000;
  out = DocxExtractor().Extract(docx, limits);
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("extracted text is over its limit"), std::string_view::npos);
}

}  // namespace
}  // namespace basalt::rag::extract
