#include "rag/extract/ocr.h"

#include <gtest/gtest.h>
#include <leptonica/allheaders.h>

#include <cstdlib>
#include <filesystem>

#include "rag/extract/image_extractor.h"
#include "rag/extract/pdf_extractor.h"
#include "rag/extract/test_support.h"
#include "rag/extract/text_metrics.h"

namespace basalt::rag::extract {
namespace {

using testing::MakeTempDir;
using testing::ReadFileOrEmpty;
using testing::SharedPath;

// One pool for the whole binary (engines are slow to initialise), released
// before static destruction: tesseract's dictionary cache is a static that
// engines ended after it would leak into.
std::shared_ptr<OcrPool>& SharedPool() {
  static auto* pool = new std::shared_ptr<OcrPool>();
  return *pool;
}

std::shared_ptr<OcrPool> Pool() {
  if (SharedPool() == nullptr) SharedPool() = std::make_shared<OcrPool>(OcrPool::Options{});
  return SharedPool();
}

class ReleasePool : public ::testing::Environment {
 public:
  void TearDown() override { SharedPool().reset(); }
};
const auto* const kReleasePool = ::testing::AddGlobalTestEnvironment(new ReleasePool());

double Cer(const std::string& name, const Extracted& out) {
  return CharacterErrorRate(ReadFileOrEmpty(SharedPath("corpora/ocr/" + name + ".txt")), out.text);
}

TEST(Ocr, PhototestImage) {
  const std::string tif = ReadFileOrEmpty(SharedPath("corpora/ocr/phototest.tif"));
  ASSERT_FALSE(tif.empty());
  absl::StatusOr<Extracted> out = ImageExtractor(Pool()).Extract(tif, {});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->pages.size(), 1u);
  EXPECT_TRUE(out->pages[0].ocr);
  EXPECT_EQ(out->ocr_pages, 1);
  EXPECT_EQ(out->mime, "image/tiff");
  const double cer = Cer("phototest", *out);
  std::printf("  phototest.tif CER %.4f\n", cer);
  EXPECT_LT(cer, 0.1);
}

TEST(Ocr, UnlvPageImage) {
  const std::string tif = ReadFileOrEmpty(SharedPath("corpora/ocr/8071_093.3B.tif"));
  absl::StatusOr<Extracted> out = ImageExtractor(Pool()).Extract(tif, {});
  ASSERT_TRUE(out.ok()) << out.status();
  const double cer = Cer("8071_093.3B", *out);
  std::printf("  8071_093.3B.tif CER %.4f\n", cer);
  EXPECT_LT(cer, 0.15);
}

// The first two lines of phototest.tif: small, so recognition is quick.
Pix* SmallPage() {
  Pix* full = pixRead(SharedPath("corpora/ocr/phototest.tif").c_str());
  if (full == nullptr) return nullptr;
  Box* box = boxCreate(0, 0, pixGetWidth(full), pixGetHeight(full) / 4);
  Pix* clip = pixClipRectangle(full, box, nullptr);
  boxDestroy(&box);
  pixDestroy(&full);
  return clip;
}

TEST(Ocr, MultipageTiffGivesPagesAndHonoursMaxPages) {
  Pix* pix = SmallPage();
  ASSERT_NE(pix, nullptr);
  Pixa* pixa = pixaCreate(2);
  pixaAddPix(pixa, pix, L_COPY);
  pixaAddPix(pixa, pix, L_INSERT);
  l_uint8* data = nullptr;
  size_t size = 0;
  ASSERT_EQ(pixaWriteMemMultipageTiff(&data, &size, pixa), 0);
  pixaDestroy(&pixa);
  const std::string tif(reinterpret_cast<const char*>(data), size);
  lept_free(data);
  ImageExtractor image(Pool());
  absl::StatusOr<Extracted> out = image.Extract(tif, {});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->pages.size(), 2u);
  EXPECT_EQ(out->pages[1].page, 2);
  EXPECT_EQ(out->ocr_pages, 2);
  EXPECT_EQ(out->text.substr(out->pages[0].begin, out->pages[0].end - out->pages[0].begin),
            out->text.substr(out->pages[1].begin));
  ExtractLimits limits;
  limits.max_pages = 1;
  out = image.Extract(tif, limits);
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("rag.max_pages"), std::string_view::npos);
}

TEST(Ocr, ImageFailures) {
  ImageExtractor image(Pool());
  ExtractLimits no_ocr;
  no_ocr.ocr = false;
  EXPECT_EQ(image.Extract(ReadFileOrEmpty(SharedPath("corpora/ocr/phototest.tif")), no_ocr)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(image.Extract("\x89PNG\r\n\x1a\n broken", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ocr, ScannedPdfWithoutTextLayer) {
  if (std::system("command -v tiff2pdf >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "tiff2pdf (libtiff-tools) is not installed";
  }
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  const std::string pdf_path = dir + "/phototest.pdf";
  const std::string cmd =
      "tiff2pdf -o " + pdf_path + " " + SharedPath("corpora/ocr/phototest.tif") + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string pdf = ReadFileOrEmpty(pdf_path);
  std::filesystem::remove_all(dir);
  PdfExtractor extractor(Pool());
  absl::StatusOr<Extracted> out = extractor.Extract(pdf, {});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->pages.size(), 1u);
  EXPECT_TRUE(out->pages[0].ocr);
  EXPECT_EQ(out->ocr_pages, 1);
  const double cer = Cer("phototest", *out);
  std::printf("  phototest as a scanned PDF: CER %.4f\n", cer);
  EXPECT_LT(cer, 0.1);
  // OCR off: the page stays empty, with a warning.
  ExtractLimits limits;
  limits.ocr = false;
  out = extractor.Extract(pdf, limits);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->text.empty());
  EXPECT_EQ(out->ocr_pages, 0);
  EXPECT_FALSE(out->warnings.empty());
}

TEST(Ocr, UnmappedTextLayerIsRecognisedInstead) {
  // A font with no Unicode map: poppler's text is glyph codes ("3HQČåQt\x03...").
  const std::string pdf = ReadFileOrEmpty(SharedPath("corpora/pdf/issue-791-non-unicode-cmap.pdf"));
  absl::StatusOr<Extracted> out = PdfExtractor(Pool()).Extract(pdf, {});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->pages.size(), 1u);
  EXPECT_TRUE(out->pages[0].ocr);
  EXPECT_NE(out->text.find("prost"), std::string::npos) << out->text;
  EXPECT_FALSE(out->warnings.empty());
}

TEST(Ocr, EnginesAreReused) {
  OcrPool pool(OcrPool::Options{.datapath = "", .language = "eng", .max_engines = 1});
  Pix* pix = SmallPage();
  ASSERT_NE(pix, nullptr);
  const Deadline deadline(std::chrono::milliseconds(60000));
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::string> text = pool.RecognizePix(pix, deadline);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_NE(text->find("12 point text"), std::string::npos) << *text;
  }
  EXPECT_EQ(pool.engines_created_for_test(), 1);
  // A spent deadline stops recognition.
  absl::StatusOr<std::string> late = pool.RecognizePix(pix, Deadline(std::chrono::milliseconds(0)));
  pixDestroy(&pix);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(Ocr, MissingLanguageIsAnInternalError) {
  OcrPool pool(OcrPool::Options{.datapath = "", .language = "xx-none", .max_engines = 1});
  const unsigned char pixel[4] = {255, 255, 255, 255};
  OcrImage image{pixel, 2, 2, 1, 2, 300};
  EXPECT_EQ(pool.Recognize(image, Deadline(std::chrono::milliseconds(1000))).status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace basalt::rag::extract
