#include "tenancy/jose/base64url.h"

#include <gtest/gtest.h>

namespace basalt::jose {
namespace {

TEST(Base64Url, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    absl::StatusOr<std::string> back = Base64UrlDecode(Base64UrlEncode(bytes), "t");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, bytes);
    bytes += static_cast<char>(i * 37);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(Base64Url, RejectsPaddingWhitespaceAndForeignAlphabet) {
  for (const char* bad : {"Zm9v=", "Zm8=", "Zm 9v", "Zm9v\n", "Zm+v", "Zm/v", "Z", "Zm9vY"}) {
    EXPECT_FALSE(Base64UrlDecode(bad, "t").ok()) << bad;
  }
}

TEST(Base64Url, RejectsNonZeroUnusedBits) {
  EXPECT_TRUE(Base64UrlDecode("AA", "t").ok());
  EXPECT_FALSE(Base64UrlDecode("AB", "t").ok());   // 4 spare bits set
  EXPECT_FALSE(Base64UrlDecode("AAB", "t").ok());  // 2 spare bits set
  EXPECT_EQ(Base64UrlDecode("AB", "payload").status().message(), "invalid base64url in payload");
}

}  // namespace
}  // namespace basalt::jose
