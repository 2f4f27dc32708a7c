#include "rag/extract/pdf_extractor.h"

#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-image.h>
#include <poppler-page-renderer.h>
#include <poppler-page.h>
#include <poppler-version.h>

#include <climits>
#include <cmath>
#include <mutex>

#include "core/strings.h"
#include "rag/extract/text_util.h"

namespace basalt::rag::extract {
namespace {

// Poppler reports damaged input on stderr by default; the extractor reports
// it through its Status instead.
void SilencePoppler() {
  static std::once_flag once;
  std::call_once(
      once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

std::string PageText(const poppler::page& page) {
  const poppler::byte_array utf8 =
      page.text(poppler::rectf(), poppler::page::non_raw_non_physical_layout).to_utf8();
  std::string text = CleanUtf8(std::string_view(utf8.data(), utf8.size()));
  for (char& c : text) {
    if (c == '\f') c = '\n';
  }
  return std::string(Trim(text));
}

// Whether a page's text looks like glyph codes rather than Unicode: a font
// with no usable ToUnicode map yields control characters (many fonts put the
// space glyph at code 3) among letters shifted out of place.
bool LooksUnmapped(std::string_view text) {
  size_t controls = 0, visible = 0;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 && c != '\n' && c != '\t') {
      ++controls;
    } else if (c > 0x20 && (c & 0xC0) != 0x80) {
      ++visible;
    }
  }
  return controls >= 2 && controls * 20 >= visible;
}

void ControlsToSpaces(std::string* text) {
  for (char& c : *text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') c = ' ';
  }
}

// The page rendered in grey and recognised.
absl::StatusOr<std::string> OcrPage(const poppler::page& page, const ExtractLimits& limits,
                                    OcrPool* ocr, const Deadline& deadline) {
  const poppler::rectf box = page.page_rect(poppler::crop_box);
  const double w_in = std::max(box.width(), 1.0) / 72.0;
  const double h_in = std::max(box.height(), 1.0) / 72.0;
  double dpi = std::clamp(limits.ocr_dpi, 50, 1200);
  if (w_in * h_in * dpi * dpi > kMaxOcrPixels) dpi = std::sqrt(kMaxOcrPixels / (w_in * h_in));
  poppler::page_renderer renderer;
  renderer.set_render_hint(poppler::page_renderer::antialiasing, true);
  renderer.set_render_hint(poppler::page_renderer::text_antialiasing, true);
  renderer.set_image_format(poppler::image::format_gray8);
  const poppler::image image = renderer.render_page(&page, dpi, dpi);
  if (!image.is_valid() || image.width() <= 0 || image.height() <= 0) {
    return absl::InvalidArgumentError("the page cannot be rendered");
  }
  OcrImage in;
  in.data = reinterpret_cast<const unsigned char*>(image.const_data());
  in.width = image.width();
  in.height = image.height();
  in.bytes_per_pixel = 1;
  in.bytes_per_line = image.bytes_per_row();
  in.dpi = static_cast<int>(dpi);
  absl::StatusOr<std::string> text = ocr->Recognize(in, deadline);
  if (!text.ok()) return text.status();
  return std::string(Trim(CleanUtf8(*text)));
}

}  // namespace

std::string PdfExtractor::version() const {
  return StrCat("pdf/1 poppler-", poppler::version_string(), " ", OcrPool::Version());
}

absl::StatusOr<Extracted> PdfExtractor::Extract(std::string_view bytes,
                                                const ExtractLimits& limits) const {
  const Deadline deadline(limits.max_time);
  SilencePoppler();
  if (bytes.size() >= static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("pdf: the file is over 2 GiB");
  }
  try {
    std::unique_ptr<poppler::document> doc(
        poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
    if (doc == nullptr) {
      return absl::InvalidArgumentError("pdf: the file cannot be read (damaged or not a PDF)");
    }
    if (doc->is_locked()) {
      return absl::InvalidArgumentError("pdf: the document is encrypted with a password");
    }
    const int count = doc->pages();
    if (absl::Status s = CheckPageCount(count, limits); !s.ok()) return s;
    Extracted out;
    out.mime = "application/pdf";
    out.extractor = std::string(name());
    out.version = version();
    for (int i = 0; i < count; ++i) {
      if (absl::Status s = deadline.Check(); !s.ok()) return s;
      std::unique_ptr<poppler::page> page(doc->create_page(i));
      PageSpan span{i + 1, 0, 0, false};
      std::string text;
      if (page == nullptr) {
        out.warnings.push_back(StrCat("page ", i + 1, " cannot be read; left empty"));
      } else {
        text = PageText(*page);
        const bool unmapped = !text.empty() && LooksUnmapped(text);
        if ((text.empty() || unmapped) && limits.ocr && ocr_ != nullptr) {
          absl::StatusOr<std::string> recognised = OcrPage(*page, limits, ocr_.get(), deadline);
          if (!recognised.ok() &&
              recognised.status().code() != absl::StatusCode::kInvalidArgument) {
            return recognised.status();
          }
          if (!recognised.ok()) {
            out.warnings.push_back(
                StrCat("page ", i + 1, ": ", recognised.status().message(), "; left empty"));
            text.clear();
          } else {
            if (unmapped) {
              out.warnings.push_back(StrCat("page ", i + 1,
                                            ": the text layer does not map to Unicode; "
                                            "recognised by OCR instead"));
            }
            text = std::move(*recognised);
            span.ocr = true;
            ++out.ocr_pages;
          }
        } else if (unmapped) {
          ControlsToSpaces(&text);
          out.warnings.push_back(StrCat("page ", i + 1,
                                        ": the text layer does not map to Unicode and OCR is "
                                        "off; kept as it is"));
        } else if (text.empty()) {
          out.warnings.push_back(StrCat("page ", i + 1, " has no text layer and OCR is off"));
        }
      }
      if (!text.empty() && !out.text.empty()) out.text.append("\n\n");
      span.begin = out.text.size();
      out.text.append(text);
      span.end = out.text.size();
      out.pages.push_back(span);
      if (absl::Status s = CheckTextSize(out.text.size(), limits); !s.ok()) return s;
    }
    return out;
  } catch (const std::exception& e) {
    return absl::InternalError(StrCat("pdf: ", e.what()));
  }
}

}  // namespace basalt::rag::extract
