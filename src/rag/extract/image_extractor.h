// The image adapter (PNG, JPEG, TIFF, BMP, GIF, WebP, PNM, JPEG 2000 as far as
// Debian's leptonica reads them): each image is decoded by leptonica and
// recognised by the OcrPool. A multi-page TIFF gives one page per image; a
// single image is page 1. Every page is marked ocr=true.
//
// Errors: kInvalidArgument when the bytes do not decode, an image is over
// kMaxOcrPixels, a TIFF has more pages than rag.max_pages, or OCR is off
// (rag.ocr: an image has no text without it); kDeadlineExceeded
// (rag.max_extract_ms) between pages and inside OCR.
#pragma once

#include <memory>

#include "rag/extract/ocr.h"
#include "rag/extractor.h"

namespace basalt::rag::extract {

class ImageExtractor final : public Extractor {
 public:
  explicit ImageExtractor(std::shared_ptr<OcrPool> ocr) : ocr_(std::move(ocr)) {}
  std::string_view name() const override { return "image"; }
  std::string version() const override;
  bool Accepts(std::string_view mime) const override;
  absl::StatusOr<Extracted> Extract(std::string_view bytes,
                                    const ExtractLimits& limits) const override;

 private:
  std::shared_ptr<OcrPool> ocr_;
};

}  // namespace basalt::rag::extract
