// Extractor: the port that turns a document's bytes into text with pages,
// headings and offsets (types.h). Adapters live in extract/ (text, Markdown,
// HTML, PDF with OCR, DOCX); ExtractorSet (extract/extractor_set.h) detects the
// type and picks one.
//
// Thread-safety: Extract may be called from many threads at once. It BLOCKS
// (parsing, rendering, OCR): call it on the BlockingPool, never on an io thread.
//
// Errors:
//   kInvalidArgument     the bytes are not a valid document of this type, or
//                        the document is over a limit; the message says which
//                        (and names the limit's configuration key)
//   kDeadlineExceeded    extraction ran past ExtractLimits::max_time
//   kInternal            a library failed in a way the input does not explain
// A bad document never crashes the process: library exceptions are caught at
// the adapter edge.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "rag/types.h"

namespace basalt::rag {

struct ExtractLimits {
  size_t max_bytes = 64u << 20;            // rag.max_document_bytes
  int max_pages = 1000;                    // rag.max_pages
  std::chrono::milliseconds max_time{120000};  // rag.max_extract_ms
  bool ocr = true;                         // rag.ocr: recognise pages with no text layer
  int ocr_dpi = 300;                       // rag.ocr_dpi
  size_t max_text_bytes = 32u << 20;       // extracted text beyond this is an error
};

class Extractor {
 public:
  virtual ~Extractor() = default;
  // "text", "markdown", "html", "pdf", "docx", "image".
  virtual std::string_view name() const = 0;
  // The extractor's version with its library's ("pdf/2 poppler-22.12.0 tesseract-5.3.0").
  // Recorded with every document version. A re-index re-chunks and re-embeds
  // the stored extracted text; it does not re-extract (the source bytes are
  // not kept once a version is indexed).
  virtual std::string version() const = 0;
  // Whether this extractor reads `mime` (a detected, lowercased type without parameters).
  virtual bool Accepts(std::string_view mime) const = 0;
  virtual absl::StatusOr<Extracted> Extract(std::string_view bytes,
                                            const ExtractLimits& limits) const = 0;
};

}  // namespace basalt::rag
