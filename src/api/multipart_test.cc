#include "api/multipart.h"

#include <gtest/gtest.h>

namespace basalt::api {
namespace {

TEST(Multipart, BoundaryFromContentType) {
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=XyZ"), "XyZ");
  EXPECT_EQ(*MultipartBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), "a b");
  absl::StatusOr<std::string> none = MultipartBoundary("multipart/form-data");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("Content-Type"), std::string_view::npos);
  EXPECT_FALSE(MultipartBoundary("application/json; boundary=x").ok());
}

TEST(Multipart, PartsWithNamesFilenamesTypesAndBinaryData) {
  const std::string binary("\0\r\n--not-it\xff", 13);
  const std::string body =
      "preamble\r\n--b\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n{\"id\":1}\r\n"
      "--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"r.pdf\"\r\n"
      "Content-Type: application/pdf\r\n\r\n" +
      binary + "\r\n--b--\r\n";
  absl::StatusOr<std::vector<FormPart>> parts = ParseMultipart(body, "b");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "meta");
  EXPECT_EQ((*parts)[0].filename, "");
  EXPECT_EQ((*parts)[0].data, "{\"id\":1}");
  EXPECT_EQ((*parts)[1].name, "file");
  EXPECT_EQ((*parts)[1].filename, "r.pdf");
  EXPECT_EQ((*parts)[1].content_type, "application/pdf");
  EXPECT_EQ((*parts)[1].data, binary);
}

TEST(Multipart, MalformedBodiesSayWhat) {
  for (const char* body : {"no boundary here", "--b", "--bX", "--b\r\nContent-Type: x\r\n",
                           "--b\r\nname: x\r\n\r\nunclosed data"}) {
    absl::StatusOr<std::vector<FormPart>> parts = ParseMultipart(body, "b");
    ASSERT_FALSE(parts.ok()) << body;
    EXPECT_EQ(parts.status().message().rfind("body: ", 0), 0u) << parts.status();
  }
}

TEST(Multipart, PartCountIsBounded) {
  std::string body;
  for (int i = 0; i < 5; ++i) body += "--b\r\n\r\nx\r\n";
  body += "--b--";
  EXPECT_EQ(ParseMultipart(body, "b")->size(), 5u);
  absl::StatusOr<std::vector<FormPart>> capped = ParseMultipart(body, "b", 4);
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.status().message().find("more than 4"), std::string_view::npos);
}

}  // namespace
}  // namespace basalt::api
