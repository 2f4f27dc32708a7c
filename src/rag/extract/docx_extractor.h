// The DOCX adapter (application/vnd.openxmlformats-officedocument.
// wordprocessingml.document): the zip is read from memory with libarchive and
// word/document.xml (with word/styles.xml for style names) parsed by pugixml.
//   - paragraphs are separated by a blank line; w:br and w:cr are newlines;
//   - headings: paragraphs whose style is "heading 1".."heading 6" (by name,
//     by id "Heading1".., or through basedOn), "Title" (level 1), or that carry
//     an outline level 0..5; each on its own line, recorded in `headings`;
//   - list paragraphs (numbering, or a "List ..." style): "- item" lines,
//     indented two spaces per level;
//   - tables: one line per row, cells separated by " | ";
//   - deleted revisions, field codes and the fallback copies of alternate
//     content are skipped; headers, footers, footnotes and comments are not
//     read (choice: they are rarely the body of the document).
// No pages. Each zip entry read is capped at limits.max_bytes decompressed
// (rag.max_document_bytes), which stops zip bombs.
#pragma once

#include "rag/extractor.h"

namespace basalt::rag::extract {

inline constexpr std::string_view kDocxMime =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

class DocxExtractor final : public Extractor {
 public:
  std::string_view name() const override { return "docx"; }
  std::string version() const override;
  bool Accepts(std::string_view mime) const override { return mime == kDocxMime; }
  absl::StatusOr<Extracted> Extract(std::string_view bytes,
                                    const ExtractLimits& limits) const override;
};

}  // namespace basalt::rag::extract
