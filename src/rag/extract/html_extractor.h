// The HTML adapter (text/html, application/xhtml+xml) on gumbo, an HTML5
// parser. What is kept and how it is laid out:
//   - dropped with their content: head (but see <title>), script, style,
//     noscript, template, nav, svg, math, iframe, object, embed, canvas,
//     select, textarea, and any element with the `hidden` attribute or
//     aria-hidden="true". Choice: footer and aside are KEPT (they often hold
//     the only copy of contact details, notes or definitions); a chunker that
//     wants them gone can drop the text after the last heading;
//   - h1..h6: a line of their own, recorded in `headings`; when the page has
//     no h1, a non-empty <title> becomes a level-1 heading at the start;
//   - lists: one "- item" line per li (nested lists indented by two spaces);
//   - tables: one line per row, cells separated by " | ";
//   - paragraphs and other blocks: separated by a blank line; <br> is a newline;
//     <pre> keeps its whitespace; entities are decoded by the parser.
// No pages. Nesting deeper than kMaxHtmlDepth is refused before parsing: the
// parser's cost grows with depth and its teardown recurses.
#pragma once

#include "rag/extractor.h"

namespace basalt::rag::extract {

inline constexpr int kMaxHtmlDepth = 1000;

class HtmlExtractor final : public Extractor {
 public:
  std::string_view name() const override { return "html"; }
  std::string version() const override;
  bool Accepts(std::string_view mime) const override;
  absl::StatusOr<Extracted> Extract(std::string_view bytes,
                                    const ExtractLimits& limits) const override;
};

// An upper estimate of how deep the elements of `html` nest (tags counted
// with the implied closes of p, li, dd/dt, td/th, tr and option). Linear.
int EstimateHtmlDepth(std::string_view html);

}  // namespace basalt::rag::extract
