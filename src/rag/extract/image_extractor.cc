#include "rag/extract/image_extractor.h"

#include <leptonica/allheaders.h>

#include <array>
#include <mutex>

#include "core/strings.h"
#include "rag/extract/text_util.h"

namespace basalt::rag::extract {
namespace {

struct PixDeleter {
  void operator()(Pix* pix) const { pixDestroy(&pix); }
};
using PixPtr = std::unique_ptr<Pix, PixDeleter>;

void SilenceLeptonica() {
  static std::once_flag once;
  std::call_once(once, [] { setMsgSeverity(L_SEVERITY_NONE); });
}

bool IsTiff(l_int32 format) {
  return format == IFF_TIFF || format == IFF_TIFF_PACKBITS || format == IFF_TIFF_RLE ||
         format == IFF_TIFF_G3 || format == IFF_TIFF_G4 || format == IFF_TIFF_LZW ||
         format == IFF_TIFF_ZIP || format == IFF_TIFF_JPEG;
}

absl::Status CheckPixels(int page, l_int32 w, l_int32 h) {
  if (w > 0 && h > 0 && static_cast<double>(w) * h <= kMaxOcrPixels) return absl::OkStatus();
  return absl::InvalidArgumentError(StrCat("image: page ", page, " is ", w, "x", h,
                                           " pixels, over the limit of ",
                                           static_cast<int>(kMaxOcrPixels / 1e6), " Mpx"));
}

std::string MimeOf(l_int32 format) {
  switch (format) {
    case IFF_PNG:
      return "image/png";
    case IFF_JFIF_JPEG:
      return "image/jpeg";
    case IFF_BMP:
      return "image/bmp";
    case IFF_GIF:
      return "image/gif";
    case IFF_WEBP:
      return "image/webp";
    case IFF_JP2:
      return "image/jp2";
    case IFF_PNM:
      return "image/x-portable-anymap";
    default:
      return "image/unknown";
  }
}

std::string LeptonicaVersion() {
  char* v = getLeptonicaVersion();
  std::string out = v != nullptr ? v : "leptonica-unknown";
  lept_free(v);
  return out;
}

}  // namespace

std::string ImageExtractor::version() const {
  return StrCat("image/1 ", LeptonicaVersion(), " ", OcrPool::Version());
}

bool ImageExtractor::Accepts(std::string_view mime) const {
  static constexpr std::array<std::string_view, 11> kTypes = {"image/png",
                                                              "image/jpeg",
                                                              "image/tiff",
                                                              "image/bmp",
                                                              "image/x-ms-bmp",
                                                              "image/gif",
                                                              "image/webp",
                                                              "image/jp2",
                                                              "image/x-portable-bitmap",
                                                              "image/x-portable-greymap",
                                                              "image/x-portable-pixmap"};
  for (std::string_view t : kTypes) {
    if (mime == t) return true;
  }
  return false;
}

absl::StatusOr<Extracted> ImageExtractor::Extract(std::string_view bytes,
                                                  const ExtractLimits& limits) const {
  const Deadline deadline(limits.max_time);
  if (!limits.ocr || ocr_ == nullptr) {
    return absl::InvalidArgumentError("image: an image has no text without OCR (rag.ocr is off)");
  }
  SilenceLeptonica();
  const auto* data = reinterpret_cast<const l_uint8*>(bytes.data());
  l_int32 format = IFF_UNKNOWN;
  if (bytes.size() < 8 || findFileFormatBuffer(data, &format) != 0 || format == IFF_UNKNOWN) {
    return absl::InvalidArgumentError("image: the bytes are not an image leptonica can read");
  }
  Extracted out;
  out.extractor = std::string(name());
  out.version = version();
  // Decodes and recognises page `page`, appending its text.
  auto add_page = [&](int page, PixPtr pix) -> absl::Status {
    if (pix == nullptr) {
      return absl::InvalidArgumentError(StrCat("image: page ", page, " cannot be decoded"));
    }
    absl::StatusOr<std::string> text = ocr_->RecognizePix(pix.get(), deadline);
    if (!text.ok()) return text.status();
    const std::string clean(Trim(CleanUtf8(*text)));
    if (!clean.empty() && !out.text.empty()) out.text.append("\n\n");
    PageSpan span{page, out.text.size(), 0, true};
    out.text.append(clean);
    span.end = out.text.size();
    out.pages.push_back(span);
    ++out.ocr_pages;
    return CheckTextSize(out.text.size(), limits);
  };
  try {
    if (IsTiff(format)) {
      // Every page's header first: the page count and sizes fail fast, before any OCR.
      int pages = 0;
      while (true) {
        l_int32 w = 0, h = 0, bps, spp, res, cmap, fmt;
        if (readHeaderMemTiff(data, bytes.size(), pages, &w, &h, &bps, &spp, &res, &cmap, &fmt) !=
            0) {
          break;
        }
        ++pages;
        if (absl::Status s = CheckPageCount(pages, limits); !s.ok()) return s;
        if (absl::Status s = CheckPixels(pages, w, h); !s.ok()) return s;
      }
      if (pages == 0) return absl::InvalidArgumentError("image: the TIFF has no readable page");
      size_t offset = 0;
      for (int page = 1; page <= pages; ++page) {
        if (absl::Status s = deadline.Check(); !s.ok()) return s;
        PixPtr pix(pixReadMemFromMultipageTiff(data, bytes.size(), &offset));
        if (absl::Status s = add_page(page, std::move(pix)); !s.ok()) return s;
        if (offset == 0) break;
      }
      out.mime = "image/tiff";
    } else {
      l_int32 fmt, w = 0, h = 0, bps, spp, cmap;
      if (pixReadHeaderMem(data, bytes.size(), &fmt, &w, &h, &bps, &spp, &cmap) != 0) {
        return absl::InvalidArgumentError("image: the image header cannot be read");
      }
      if (absl::Status s = CheckPixels(1, w, h); !s.ok()) return s;
      if (absl::Status s = add_page(1, PixPtr(pixReadMem(data, bytes.size()))); !s.ok()) return s;
      out.mime = MimeOf(format);
    }
  } catch (const std::exception& e) {
    return absl::InternalError(StrCat("image: ", e.what()));
  }
  return out;
}

}  // namespace basalt::rag::extract
