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

namespace {

// Declared text that is plainly text: valid UTF-8, no control bytes but
// whitespace, and no signature of the binary formats read here. libmagic
// would call it text as well; not asking it saves its regex tests, which took
// a fifth of the ingestion CPU on short abstracts.
bool PlainlyText(std::string_view bytes) {
  for (std::string_view signature : {"%PDF", "PK\x03\x04", "{\\rtf", "%!PS", "<?xml"}) {
    if (bytes.starts_with(signature)) return false;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') return false;
      ++i;
      continue;
    }
    // Well-formed UTF-8 (RFC 3629): no overlongs, surrogates or past U+10FFFF.
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

absl::StatusOr<DetectedType> ExtractorSet::DetectFor(std::string_view bytes,
                                                     std::string_view declared_mime) const {
  const std::string declared = NormalizeMime(declared_mime);
  const Extractor* reader = Find(declared);
  if (reader != nullptr && IsTextFamily(reader) && PlainlyText(bytes)) {
    return DetectedType{declared, "utf-8"};
  }
  return detector_->Detect(bytes);
}

absl::StatusOr<std::string> ExtractorSet::ResolveMime(std::string_view bytes,
                                                      std::string_view declared_mime,
                                                      std::vector<std::string>* warnings) const {
  absl::StatusOr<DetectedType> detected = DetectFor(bytes, declared_mime);
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
    absl::StatusOr<DetectedType> detected = DetectFor(bytes, declared_mime);
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
