// ExtractorSet: the adapters of this folder behind one call that checks the
// document's type before it picks one.
//
// Extract(bytes, declared_mime, limits):
//   1. size: over limits.max_bytes -> kInvalidArgument naming
//      rag.max_document_bytes; empty -> kInvalidArgument;
//   2. type: libmagic detects it; the declared type (parameters dropped,
//      aliases normalised) is CHECKED against it, never trusted blindly:
//      - empty or application/octet-stream: the detected type is used;
//      - a text type (text/*, JSON, XML, ...): accepted when libmagic finds text
//        in any charset; the declared subtype picks the adapter (Markdown and
//        HTML are "text/plain" to libmagic). Latin-1 text is transcoded to
//        UTF-8; UTF-16/32 and EBCDIC text are refused;
//      - DOCX: accepted when the bytes are a zip holding word/document.xml;
//      - images: accepted when the bytes are any image (the detected one is read);
//      - anything else must equal the detected type.
//      A mismatch is kInvalidArgument "contentType: declared 'X' but the bytes
//      are 'Y'"; a type no adapter reads is kInvalidArgument "contentType:
//      unsupported type 'Y'";
//   3. dispatch to the first adapter that Accepts the type. The result records
//      mime (the type used), extractor and version; what the check decided
//      (transcoding, a corrected image type) is added to `warnings`.
//
// Thread-safety: Extract may be called from many threads at once; it BLOCKS
// (run it on the BlockingPool). The OCR engines and libmagic handles are pooled.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rag/extract/mime_detect.h"
#include "rag/extract/ocr.h"
#include "rag/extractor.h"

namespace basalt::rag::extract {

class ExtractorSet {
 public:
  struct Options {
    OcrPool::Options ocr;
  };

  // The builtin adapters: markdown, html, text, pdf, docx, image.
  // kInternal when libmagic's database cannot be loaded.
  static absl::StatusOr<std::unique_ptr<ExtractorSet>> Create(Options options);
  static absl::StatusOr<std::unique_ptr<ExtractorSet>> Create() { return Create(Options{}); }

  absl::StatusOr<Extracted> Extract(std::string_view bytes, std::string_view declared_mime,
                                    const ExtractLimits& limits) const;

  // The type Extract would use for these bytes (step 2), with the warnings it
  // would record. Exposed for the API's early checks and for tests.
  absl::StatusOr<std::string> ResolveMime(std::string_view bytes, std::string_view declared_mime,
                                          std::vector<std::string>* warnings) const;

  // Every adapter's version, comma-separated in a fixed order, plus
  // libmagic's: a change means documents should be re-extracted.
  std::string Versions() const;

  // The adapter for a (normalised) type; null when none reads it.
  const Extractor* Find(std::string_view mime) const;

 private:
  ExtractorSet() = default;
  absl::StatusOr<std::string> Resolve(std::string_view bytes, std::string_view declared_mime,
                                      const DetectedType& detected,
                                      std::vector<std::string>* warnings) const;

  // libmagic's verdict, or, for a declared text type whose bytes are plainly
  // UTF-8 text, that type without asking libmagic.
  absl::StatusOr<DetectedType> DetectFor(std::string_view bytes,
                                         std::string_view declared_mime) const;

  std::unique_ptr<MimeDetector> detector_;
  std::shared_ptr<OcrPool> ocr_;
  std::vector<std::unique_ptr<Extractor>> extractors_;
};

}  // namespace basalt::rag::extract
