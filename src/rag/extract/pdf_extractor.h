// The PDF adapter (application/pdf) on poppler-cpp, with OCR for pages that
// have no text layer.
//
// Layout: each page's text (poppler's reading order, as `pdftotext` without
// -layout) with trailing whitespace trimmed; pages are separated by "\n\n"
// (not a form feed: chunkers split on blank lines) and `pages` records each
// page's span, 1-based, an empty page as an empty span. A page whose text is
// empty or whitespace is rendered at limits.ocr_dpi in grey (lowered so a page
// is at most kMaxOcrPixels) and recognised when limits.ocr and an OcrPool is
// given; its span is marked ocr=true and counted in ocr_pages. With OCR off
// such a page stays empty and a warning says so. A page whose text layer is
// glyph codes rather than Unicode (control characters among the letters: a
// font with no usable ToUnicode map) is recognised the same way, with a
// warning; with OCR off its control characters become spaces.
//
// Errors: kInvalidArgument for a damaged file, a password-protected one, or
// more pages than rag.max_pages; kDeadlineExceeded (rag.max_extract_ms),
// checked between pages and inside OCR.
#pragma once

#include <memory>

#include "rag/extract/ocr.h"
#include "rag/extractor.h"

namespace basalt::rag::extract {

class PdfExtractor final : public Extractor {
 public:
  // `ocr` may be null: pages without text then stay empty.
  explicit PdfExtractor(std::shared_ptr<OcrPool> ocr) : ocr_(std::move(ocr)) {}
  std::string_view name() const override { return "pdf"; }
  std::string version() const override;
  bool Accepts(std::string_view mime) const override { return mime == "application/pdf"; }
  absl::StatusOr<Extracted> Extract(std::string_view bytes,
                                    const ExtractLimits& limits) const override;

 private:
  std::shared_ptr<OcrPool> ocr_;
};

}  // namespace basalt::rag::extract
