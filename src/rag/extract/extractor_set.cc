#include "rag/extract/extractor_set.h"

#include "core/strings.h"
#include "rag/extract/docx_extractor.h"
#include "rag/extract/html_extractor.h"
#include "rag/extract/image_extractor.h"
#include "rag/extract/markdown_extractor.h"
#include "rag/extract/pdf_extractor.h"
#include "rag/extract/text_extractor.h"
#include "rag/extract/text_util.h"
#include "rag/extract/zip_reader.h"

namespace basalt::rag::extract {
namespace {

constexpr std::string_view kOctetStream = "application/octet-stream";

absl::Status Mismatch(std::string_view declared, std::string_view detected) {
  return absl::InvalidArgumentError(
      StrCat("contentType: declared '", declared, "' but the bytes are '", detected, "'"));
}

bool IsTextFamily(const Extractor* e) {
  return e != nullptr && (e->name() == "text" || e->name() == "html" || e->name() == "markdown");
}

bool LooksBinary(std::string_view bytes) {
  return bytes.substr(0, 1u << 20).find('\0') != std::string_view::npos;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ExtractorSet>> ExtractorSet::Create(Options options) {
  absl::StatusOr<std::unique_ptr<MimeDetector>> detector = MimeDetector::Create();
  if (!detector.ok()) return detector.status();
  std::unique_ptr<ExtractorSet> set(new ExtractorSet());
  set->detector_ = std::move(*detector);
  set->ocr_ = std::make_shared<OcrPool>(std::move(options.ocr));
  set->extractors_.push_back(std::make_unique<MarkdownExtractor>());
  set->extractors_.push_back(std::make_unique<HtmlExtractor>());
  set->extractors_.push_back(std::make_unique<TextExtractor>());
  set->extractors_.push_back(std::make_unique<PdfExtractor>(set->ocr_));
  set->extractors_.push_back(std::make_unique<DocxExtractor>());
  set->extractors_.push_back(std::make_unique<ImageExtractor>(set->ocr_));
  return set;
}

const Extractor* ExtractorSet::Find(std::string_view mime) const {
  for (const auto& e : extractors_) {
    if (e->Accepts(mime)) return e.get();
  }
  return nullptr;
}

std::string ExtractorSet::Versions() const {
  std::vector<std::string> versions;
  for (const auto& e : extractors_) versions.push_back(e->version());
  versions.push_back(MimeDetector::Version());
  return StrJoin(versions, ",");
}

absl::StatusOr<std::string> ExtractorSet::ResolveMime(std::string_view bytes,
                                                      std::string_view declared_mime,
                                                      std::vector<std::string>* warnings) const {
  absl::StatusOr<DetectedType> detected = detector_->Detect(bytes);
  if (!detected.ok()) return detected.status();
  return Resolve(bytes, declared_mime, *detected, warnings);
}

absl::StatusOr<std::string> ExtractorSet::Resolve(std::string_view bytes,
                                                  std::string_view declared_mime,
                                                  const DetectedType& detected,
                                                  std::vector<std::string>* warnings) const {
  const std::string declared = NormalizeMime(declared_mime);
  const std::string& found = detected.mime;
  auto is_docx = [&]() -> bool {
    if (found != kDocxMime && found != "application/zip" && found != kOctetStream) return false;
    absl::StatusOr<bool> has = ZipHasEntry(bytes, "word/document.xml");
    return has.ok() && *has;
  };

  if (declared.empty() || declared == kOctetStream) {
    if (is_docx()) return std::string(kDocxMime);
    if (detected.is_text() && Find(found) == nullptr) return std::string("text/plain");
    return found;
  }
  const Extractor* declared_reader = Find(declared);
  const bool declared_text = declared.starts_with("text/") || IsTextFamily(declared_reader);
  if (declared_text) {
    // Text in any charset, unless libmagic knows it as another format (an
    // all-ASCII PDF is "application/pdf; charset=us-ascii").
    const Extractor* found_reader = Find(found);
    if (detected.is_text() && (found_reader == nullptr || IsTextFamily(found_reader))) {
      return declared;
    }
    if (found == kOctetStream && !LooksBinary(bytes)) {
      warnings->push_back(StrCat("libmagic did not recognise the bytes; read as ", declared));
      return declared;
    }
    return Mismatch(declared, found);
  }
  if (declared == kDocxMime) {
    if (is_docx()) return declared;
    return Mismatch(declared, found);
  }
  if (declared.starts_with("image/") && found.starts_with("image/")) {
    if (found != declared) {
      warnings->push_back(
          StrCat("declared ", declared, " but the bytes are ", found, "; read as ", found));
    }
    return found;
  }
  if (declared != found) return Mismatch(declared, found);
  return declared;
}

absl::StatusOr<Extracted> ExtractorSet::Extract(std::string_view bytes,
                                                std::string_view declared_mime,
                                                const ExtractLimits& limits) const {
  if (bytes.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(StrCat("the document is ", bytes.size(),
                                             " bytes, over rag.max_document_bytes (",
                                             limits.max_bytes, ")"));
  }
  if (bytes.empty()) return absl::InvalidArgumentError("the document is empty (0 bytes)");
  try {
    std::vector<std::string> warnings;
    absl::StatusOr<DetectedType> detected = detector_->Detect(bytes);
    if (!detected.ok()) return detected.status();
    absl::StatusOr<std::string> mime = Resolve(bytes, declared_mime, *detected, &warnings);
    if (!mime.ok()) return mime.status();
    const Extractor* extractor = Find(*mime);
    if (extractor == nullptr) {
      return absl::InvalidArgumentError(StrCat("contentType: unsupported type '", *mime, "'"));
    }
    std::string transcoded;
    if (IsTextFamily(extractor)) {
      const std::string& cs = detected->charset;
      if (cs == "iso-8859-1") {
        transcoded = Latin1ToUtf8(bytes);
        bytes = transcoded;
        warnings.push_back("transcoded from iso-8859-1 to UTF-8");
      } else if (cs.starts_with("utf-16") || cs.starts_with("utf-32") || cs == "ebcdic") {
        return absl::InvalidArgumentError(
            StrCat("contentType: text in ", cs, " is not supported; send UTF-8"));
      }
    }
    absl::StatusOr<Extracted> out = extractor->Extract(bytes, limits);
    if (!out.ok()) return out.status();
    out->mime = *mime;
    for (std::string& w : warnings) out->warnings.push_back(std::move(w));
    return out;
  } catch (const std::exception& e) {
    return absl::InternalError(StrCat("extract: ", e.what()));
  }
}

}  // namespace basalt::rag::extract
