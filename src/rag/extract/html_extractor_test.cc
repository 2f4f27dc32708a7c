#include "rag/extract/html_extractor.h"

#include <gtest/gtest.h>

namespace basalt::rag::extract {
namespace {

std::string Span(const Extracted& e, const Heading& h) {
  return e.text.substr(h.begin, h.end - h.begin);
}

TEST(HtmlExtractor, LaysOutBlocksListsTablesAndDropsChrome) {
  const std::string html = R"(<!DOCTYPE html><html><head><title>Page title</title>
<style>p { color: red }</style><script>var x = "<p>no</p>";</script></head>
<body><nav><a href="/">Home</a> <a href="/x">Menu</a></nav>
<h1>Main &amp; only</h1>
<p>First   paragraph with <b>bold</b> and&nbsp;an entity &eacute;.<br>Second line.</p>
<ul><li>One</li><li><p>Two</p><ul><li>Two.a</li></ul></li><li></li></ul>
<table><tr><th>Name</th><th>Qty</th></tr><tr><td><p>Apple</p><p>red</p></td><td>3</td></tr></table>
<div hidden>secret</div><span aria-hidden="true">icon</span><noscript>enable js</noscript>
<pre>  keep
    this</pre>
<h3>Sub</h3><footer>Contact us</footer><!-- a comment --></body></html>)";
  absl::StatusOr<Extracted> out = HtmlExtractor().Extract(html, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->text,
            "Main & only\n\n"
            "First paragraph with bold and an entity \u00e9.\nSecond line.\n\n"
            "- One\n- Two\n  - Two.a\n\n"
            "Name | Qty\nApple red | 3\n\n"
            "  keep\n    this\n\n"
            "Sub\n\nContact us");
  ASSERT_EQ(out->headings.size(), 2u);
  EXPECT_EQ(Span(*out, out->headings[0]), "Main & only");
  EXPECT_EQ(out->headings[0].level, 1);
  EXPECT_EQ(Span(*out, out->headings[1]), "Sub");
  EXPECT_EQ(out->headings[1].level, 3);
  EXPECT_TRUE(out->pages.empty());
  EXPECT_EQ(out->mime, "text/html");
  EXPECT_NE(out->version.find("gumbo-"), std::string::npos);
}

TEST(HtmlExtractor, TitleBecomesTheHeadingWhenThereIsNoH1) {
  absl::StatusOr<Extracted> out = HtmlExtractor().Extract(
      "<html><head><title> My  Doc </title></head><body><h2>Part</h2><p>x</p></body></html>", {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->text, "My Doc\n\nPart\n\nx");
  ASSERT_EQ(out->headings.size(), 2u);
  EXPECT_EQ(out->headings[0].level, 1);
  EXPECT_EQ(Span(*out, out->headings[0]), "My Doc");
}

TEST(HtmlExtractor, FragmentsAndInvalidBytes) {
  absl::StatusOr<Extracted> out = HtmlExtractor().Extract("hello <i>wor\xFFld</i>", {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->text, "hello wor\uFFFDld");
}

TEST(HtmlExtractor, RefusesParserBombs) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "<DIV>";
  absl::StatusOr<Extracted> out = HtmlExtractor().Extract(deep, {});
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("nest"), std::string_view::npos);
  // Many closed elements are fine; so are unclosed paragraphs and list items.
  std::string wide;
  for (int i = 0; i < 5000; ++i) wide += "<div><p>x</div><p>y<li>z";
  EXPECT_LT(EstimateHtmlDepth(wide), 50);
  EXPECT_TRUE(HtmlExtractor().Extract(wide, {}).ok());
}

TEST(HtmlExtractor, TextLimitAndDeadline) {
  ExtractLimits limits;
  limits.max_text_bytes = 5;
  EXPECT_EQ(HtmlExtractor().Extract("<p>hello world</p>", limits).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string big;
  for (int i = 0; i < 10000; ++i) big += "<p>x</p>";
  limits = {};
  limits.max_time = std::chrono::milliseconds(0);
  EXPECT_EQ(HtmlExtractor().Extract(big, limits).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace basalt::rag::extract
