// The plain-text adapter: text/plain and the other text types that are read as
// they are (CSV, TSV, JSON, XML, YAML, source code). No pages, no headings.
//
// Choice: invalid UTF-8 is repaired, not rejected: each invalid sequence (and
// NUL) becomes U+FFFD and a warning counts them. CRLF and CR become LF; a
// leading byte-order mark is dropped.
#pragma once

#include "rag/extractor.h"

namespace basalt::rag::extract {

class TextExtractor final : public Extractor {
 public:
  std::string_view name() const override { return "text"; }
  std::string version() const override { return "text/1"; }
  bool Accepts(std::string_view mime) const override;
  absl::StatusOr<Extracted> Extract(std::string_view bytes,
                                    const ExtractLimits& limits) const override;
};

// The cleaned text of a text document (shared with the Markdown adapter):
// BOM dropped, UTF-8 repaired, line ends normalised, the size limit checked.
absl::StatusOr<Extracted> ReadPlainText(std::string_view bytes, const ExtractLimits& limits);

}  // namespace basalt::rag::extract
