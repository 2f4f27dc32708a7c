// The Markdown adapter (text/markdown): the text is kept as written (cleaned as
// TextExtractor does) and its headings are recorded, ATX ("## Title", closing
// hashes dropped from the span) and setext (a paragraph underlined with "==="
// for level 1 or "---" for level 2). Lines inside fenced code blocks and a
// leading YAML front-matter block are never headings. No pages.
#pragma once

#include <vector>

#include "rag/extractor.h"

namespace basalt::rag::extract {

class MarkdownExtractor final : public Extractor {
 public:
  std::string_view name() const override { return "markdown"; }
  std::string version() const override { return "markdown/1"; }
  bool Accepts(std::string_view mime) const override;
  absl::StatusOr<Extracted> Extract(std::string_view bytes,
                                    const ExtractLimits& limits) const override;
};

// The headings of Markdown `text` (already clean UTF-8), spans into `text`.
std::vector<Heading> FindMarkdownHeadings(std::string_view text);

}  // namespace basalt::rag::extract
