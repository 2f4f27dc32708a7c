#include "rag/extract/extractor_set.h"

#include <gtest/gtest.h>

#include "rag/extract/docx_extractor.h"
#include "rag/extract/mime_detect.h"
#include "rag/extract/test_support.h"

namespace basalt::rag::extract {
namespace {

using testing::MakeDocx;
using testing::MakeTextPdf;
using testing::MakeZip;
using testing::ReadFileOrEmpty;
using testing::SharedPath;

class ExtractorSetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<ExtractorSet>> set = ExtractorSet::Create();
    ASSERT_TRUE(set.ok()) << set.status();
    set_ = std::move(*set);
  }
  static void TearDownTestSuite() { set_.reset(); }

  static absl::StatusOr<Extracted> Run(std::string_view bytes, std::string_view mime,
                                       const ExtractLimits& limits = {}) {
    return set_->Extract(bytes, mime, limits);
  }

  static inline std::unique_ptr<ExtractorSet> set_;
};

TEST_F(ExtractorSetTest, DispatchesOnTheCheckedType) {
  const std::string pdf = MakeTextPdf({"Hello PDF"});
  struct Case {
    std::string bytes, declared, mime, extractor;
  } cases[] = {
      {pdf, "application/pdf", "application/pdf", "pdf"},
      {pdf, "", "application/pdf", "pdf"},
      {pdf, "application/octet-stream", "application/pdf", "pdf"},
      {pdf, "Application/PDF; name=x.pdf", "application/pdf", "pdf"},
      {"# Title\n\ntext", "text/markdown", "text/markdown", "markdown"},
      {"# Title\n\ntext", "text/x-markdown; charset=utf-8", "text/markdown", "markdown"},
      {"# Title\n\ntext", "", "text/plain", "text"},
      {"<p>fragment</p>", "text/html", "text/html", "html"},
      {"<!DOCTYPE html><html><body><p>x</p></body></html>", "", "text/html", "html"},
      {"<!DOCTYPE html><html><body><p>x</p></body></html>", "text/plain", "text/plain", "text"},
      {"{\"a\": [1, 2]}", "application/json", "application/json", "text"},
      {"a,b\n1,2\n", "text/csv", "text/csv", "text"},
      {MakeDocx("<w:p><w:r><w:t>Doc</w:t></w:r></w:p>"), std::string(kDocxMime),
       std::string(kDocxMime), "docx"},
      {MakeDocx("<w:p><w:r><w:t>Doc</w:t></w:r></w:p>"), "", std::string(kDocxMime), "docx"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Extracted> out = Run(c.bytes, c.declared);
    ASSERT_TRUE(out.ok()) << c.declared << " / " << c.mime << ": " << out.status();
    EXPECT_EQ(out->mime, c.mime) << c.declared;
    EXPECT_EQ(out->extractor, c.extractor) << c.declared;
    EXPECT_FALSE(out->version.empty());
  }
}

TEST_F(ExtractorSetTest, DeclaredTypeIsCheckedNotTrusted) {
  const std::string pdf = MakeTextPdf({"Hello PDF"});
  absl::StatusOr<Extracted> out = Run(pdf, "text/plain");
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(),
            "contentType: declared 'text/plain' but the bytes are 'application/pdf'");
  out = Run("just text", "application/pdf");
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("declared 'application/pdf'"), std::string_view::npos);
  out = Run(MakeZip({{"a.txt", "hello"}}), std::string(kDocxMime));
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("contentType"), std::string_view::npos);
  out = Run(ReadFileOrEmpty(SharedPath("corpora/ocr/phototest.tif")), "text/html");
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("image/tiff"), std::string_view::npos);
  // A zip that is no DOCX, undeclared, is a type nobody reads.
  out = Run(MakeZip({{"a.txt", "hello"}}), "");
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("unsupported type 'application/zip'"),
            std::string_view::npos);
}

TEST_F(ExtractorSetTest, ImagesOfAnotherSubtypeAreReadAsWhatTheyAre) {
  std::vector<std::string> warnings;
  absl::StatusOr<std::string> mime = set_->ResolveMime(
      ReadFileOrEmpty(SharedPath("corpora/ocr/phototest.tif")), "image/png", &warnings);
  ASSERT_TRUE(mime.ok()) << mime.status();
  EXPECT_EQ(*mime, "image/tiff");
  EXPECT_EQ(warnings.size(), 1u);
}

TEST_F(ExtractorSetTest, Latin1TextIsTranscoded) {
  absl::StatusOr<Extracted> out = Run("caf\xE9 cr\xE8me br\xFBl\xE9\x65 na\xEFve\n", "text/plain");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->text, "café crème brûlée naïve\n");
  EXPECT_FALSE(out->warnings.empty());
}

TEST_F(ExtractorSetTest, SizeLimitComesFirst) {
  ExtractLimits limits;
  limits.max_bytes = 8;
  absl::StatusOr<Extracted> out = Run("0123456789", "text/plain", limits);
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("rag.max_document_bytes"), std::string_view::npos);
  EXPECT_EQ(Run("", "text/plain").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ExtractorSetTest, VersionsNameEveryAdapter) {
  const std::string v = set_->Versions();
  for (const char* part :
       {"text/1", "markdown/1", "html/1", "pdf/1", "docx/1", "image/1", "libmagic-"}) {
    EXPECT_NE(v.find(part), std::string::npos) << part << " in " << v;
  }
  EXPECT_EQ(set_->Find("application/pdf")->name(), "pdf");
  EXPECT_EQ(set_->Find("application/x-msdownload"), nullptr);
}

TEST(MimeForFileNameTest, KnownExtensionsOnly) {
  EXPECT_EQ(MimeForFileName("notes/Guide.MD"), "text/markdown");
  EXPECT_EQ(MimeForFileName("a.markdown"), "text/markdown");
  EXPECT_EQ(MimeForFileName("dir.v2/page.htm"), "text/html");
  EXPECT_EQ(MimeForFileName("scan.tif"), "image/tiff");
  EXPECT_EQ(MimeForFileName("report.pdf"), "application/pdf");
  EXPECT_EQ(MimeForFileName("memo.docx"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  EXPECT_EQ(MimeForFileName("README"), "");
  EXPECT_EQ(MimeForFileName(".md"), "");        // a hidden file, not an extension
  EXPECT_EQ(MimeForFileName("dir.md/file"), "");  // the directory's dot does not count
  EXPECT_EQ(MimeForFileName("data.bin"), "");
}

}  // namespace
}  // namespace basalt::rag::extract
