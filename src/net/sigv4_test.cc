#include "net/sigv4.h"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace basalt::sigv4 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::chrono::system_clock::time_point Time(std::string_view amz_date) {
  return ParseAmzDate(amz_date).value();
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

TEST(SigV4UriTest, EncodesAllButUnreservedCharacters) {
  EXPECT_EQ(UriEncode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(UriEncode("a b/c", false), "a%20b%2Fc");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(UriEncode("\xE1\x88\xB4", false), "%E1%88%B4");
  EXPECT_EQ(UriEncode("+=&%*", false), "%2B%3D%26%25%2A");
}

TEST(SigV4UriTest, DecodesValidEscapesOnly) {
  EXPECT_EQ(UriDecode("%41%e1%88%b4"), "A\xE1\x88\xB4");
  EXPECT_EQ(UriDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(UriDecode("a+b%"), "a+b%");
}

TEST(SigV4CanonicalTest, PathIsEncodedAgainAsNonS3ServicesExpect) {
  EXPECT_EQ(CanonicalPath("", true), "/");
  EXPECT_EQ(CanonicalPath("/example space/", false), "/example%20space/");
  // An already-encoded path is encoded a second time.
  EXPECT_EQ(CanonicalPath("/model/a%3A0/invoke", true), "/model/a%253A0/invoke");
}

TEST(SigV4CanonicalTest, NormalizesDotAndEmptySegments) {
  EXPECT_EQ(CanonicalPath("/a//b/../c/", true), "/a/c/");
  EXPECT_EQ(CanonicalPath("/a/./b", true), "/a/b");
  EXPECT_EQ(CanonicalPath("/..", true), "/");
  EXPECT_EQ(CanonicalPath("//", true), "/");
  EXPECT_EQ(CanonicalPath("//example//", false), "//example//");
}

TEST(SigV4CanonicalTest, QueryIsReencodedAndSorted) {
  EXPECT_EQ(CanonicalQuery(""), "");
  EXPECT_EQ(CanonicalQuery("b=2&a=1&a=0"), "a=0&a=1&b=2");
  EXPECT_EQ(CanonicalQuery("flag&&x="), "flag=&x=");
  EXPECT_EQ(CanonicalQuery("k=a+b%20c&%E1%88%B4=v"), "%E1%88%B4=v&k=a%2Bb%20c");
  // Sorting uses the encoded key: '%' (0x25) sorts before letters.
  EXPECT_EQ(CanonicalQuery("Param=1&\xE1\x88\xB4=2"), "%E1%88%B4=2&Param=1");
  const std::string_view excluded[] = {"X-Amz-Signature"};
  EXPECT_EQ(CanonicalQuery("a=1&X-Amz-Signature=ff&X-Amz-%53ignature=ee", excluded), "a=1");
}

TEST(SigV4CanonicalTest, HeaderValuesAreTrimmedAndCollapsed) {
  EXPECT_EQ(CanonicalHeaderValue("  a   b\t\tc  "), "a b c");
  EXPECT_EQ(CanonicalHeaderValue("value1\n  value2\n     value3"), "value1 value2 value3");
  EXPECT_EQ(CanonicalHeaderValue(" \"a   b\" "), "\"a b\"");
  EXPECT_EQ(CanonicalHeaderValue("   "), "");
}

TEST(SigV4CanonicalTest, DefaultSignedHeadersSkipsHopByHopHeaders) {
  SignableRequest request;
  request.headers = {
      {"Host", "h"},         {"User-Agent", "x"},          {"My-Header", "1"},
      {"my-header", "2"},    {"Connection", "keep-alive"}, {"X-Amz-Security-Token", "t"},
      {"Authorization", "a"}};
  EXPECT_THAT(DefaultSignedHeaders(request, false),
              ElementsAre("host", "my-header", "x-amz-security-token"));
  EXPECT_THAT(DefaultSignedHeaders(request, true), ElementsAre("host", "my-header"));
}

TEST(SigV4CanonicalTest, RepeatedHeadersAreJoinedInOrder) {
  SignableRequest request{"GET", "/", "", {{"Host", "h"}, {"X-A", " 2 "}, {"x-a", "1"}}, ""};
  const std::vector<std::string> names = {"host", "x-a"};
  EXPECT_EQ(CanonicalRequest(request, names, "hash", true),
            "GET\n/\n\nhost:h\nx-a:2,1\n\nhost;x-a\nhash");
}

// The worked example of the AWS documentation (IAM ListUsers, signed 2015-08-30).
TEST(SigV4SigningTest, MatchesAwsDocumentationExample) {
  SignableRequest request{"GET",
                          "/",
                          "Action=ListUsers&Version=2010-05-08",
                          {{"Host", "iam.amazonaws.com"},
                           {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                           {"X-Amz-Date", "20150830T123600Z"}},
                          ""};
  const std::vector<std::string> names = {"content-type", "host", "x-amz-date"};
  const std::string canonical = CanonicalRequest(request, names, HexSha256(""), true);
  EXPECT_EQ(HexSha256(canonical),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  const std::string string_to_sign =
      StringToSign("20150830T123600Z", CredentialScope("20150830", "us-east-1", "iam"), canonical);
  const std::string key = DeriveSigningKey(kSecret, "20150830", "us-east-1", "iam");
  EXPECT_EQ(Signature(key, string_to_sign),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

// "Deriving the signing key" in the AWS documentation.
TEST(SigV4SigningTest, DerivesDocumentedSigningKey) {
  EXPECT_EQ(Hex(DeriveSigningKey(kSecret, "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4SigningTest, HexSha256OfEmptyString) {
  EXPECT_EQ(HexSha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SigV4DateTest, FormatsAndParsesAmzDates) {
  const auto t = Time("20150830T123600Z");
  EXPECT_EQ(FormatAmzDate(t), "20150830T123600Z");
  EXPECT_EQ(FormatAmzDate(t + std::chrono::milliseconds(999)), "20150830T123600Z");
  EXPECT_EQ(FormatAmzDate(Time("20240229T235959Z")), "20240229T235959Z");
  for (std::string_view bad : {"", "20150830T123600", "20151330T123600Z", "20150230T123600Z",
                               "20150830T243600Z", "2015083OT123600Z", "20150830 123600Z"}) {
    EXPECT_FALSE(ParseAmzDate(bad).ok()) << bad;
  }
}

TEST(SigV4RequestTest, ParsesRequestLineHeadersFoldsAndBody) {
  absl::StatusOr<SignableRequest> request = ParseRawRequest(
      "POST /a b?x=1&y HTTP/1.1\r\nHost: h\r\nX-Multi:v1\r\n  v2\r\n\r\nbody\r\nmore");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->method, "POST");
  EXPECT_EQ(request->path, "/a b");
  EXPECT_EQ(request->query, "x=1&y");
  EXPECT_THAT(request->headers, ElementsAre(Pair("Host", " h"), Pair("X-Multi", "v1\n  v2")));
  EXPECT_EQ(request->body, "body\r\nmore");
}

TEST(SigV4RequestTest, SerializeRoundTrips) {
  const std::string text = "GET /?a=b HTTP/1.1\nHost:h\nX: y\n  z\n\nbody";
  absl::StatusOr<SignableRequest> request = ParseRawRequest(text);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(SerializeRequest(*request, "\n"), text);
  EXPECT_EQ(ParseRawRequest(SerializeRequest(*request)).value(), *request);
}

TEST(SigV4RequestTest, RejectsMalformedRequests) {
  for (std::string_view bad :
       {"", "GET\n", "GET /\n", "G(T / HTTP/1.1\n", "GET / FTP/1.0\n", "GET / HTTP/1.1\n folded\n",
        "GET / HTTP/1.1\nno colon\n", "GET / HTTP/1.1\nBad Name:x\n"}) {
    EXPECT_EQ(ParseRawRequest(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SigV4RequestTest, HeaderValuesIgnoresCase) {
  SignableRequest request{"GET", "/", "", {{"Host", "a"}, {"HOST", "b"}, {"x", "c"}}, ""};
  EXPECT_THAT(HeaderValues(request, "host"), ElementsAre("a", "b"));
}

SigningParams Params() {
  SigningParams params;
  params.region = "us-east-1";
  params.service = "bedrock";
  params.time = Time("20150830T123600Z");
  return params;
}

TEST(SigV4SigningTest, SignHeadersReplacesEarlierSignature) {
  SignableRequest request{"POST", "/", "", {{"Host", "h"}}, "{}"};
  const AwsCredentials credentials{"AKID", std::string(kSecret), "token"};
  ASSERT_TRUE(SignHeaders(request, credentials, Params()).ok());
  const size_t size = request.headers.size();
  ASSERT_TRUE(SignHeaders(request, credentials, Params()).ok());
  ASSERT_EQ(request.headers.size(), size);
  EXPECT_THAT(request.headers[1], Pair("X-Amz-Security-Token", "token"));
  EXPECT_THAT(request.headers[2], Pair("X-Amz-Date", "20150830T123600Z"));
  EXPECT_THAT(request.headers[3], Pair("x-amz-content-sha256", HexSha256("{}")));
  EXPECT_THAT(request.headers[4].second,
              HasSubstr("Credential=AKID/20150830/us-east-1/bedrock/aws4_request, "
                        "SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                        "x-amz-security-token, Signature="));
}

TEST(SigV4SigningTest, PresignReplacesEarlierParameters) {
  SignableRequest request{"GET", "/", "a=1&X-Amz-Signature=00&X-Amz-Date=x", {{"Host", "h"}}, ""};
  SigningParams params = Params();
  params.expires = std::chrono::seconds(60);
  ASSERT_TRUE(PresignQuery(request, {"AKID", std::string(kSecret), ""}, params).ok());
  EXPECT_THAT(request.query,
              ::testing::StartsWith("a=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                                    "AKID%2F20150830%2Fus-east-1%2Fbedrock%2Faws4_request&"
                                    "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&"
                                    "X-Amz-Expires=60&X-Amz-Signature="));
}

TEST(SigV4SigningTest, RejectsInvalidInputs) {
  SignableRequest request{"GET", "/", "", {{"Host", "h"}}, ""};
  const AwsCredentials good{"AKID", "secret", ""};
  EXPECT_FALSE(SignHeaders(request, {"", "secret", ""}, Params()).ok());
  EXPECT_FALSE(SignHeaders(request, {"A/B", "secret", ""}, Params()).ok());
  EXPECT_FALSE(SignHeaders(request, {"AKID", "", ""}, Params()).ok());
  SigningParams params = Params();
  params.region = "";
  EXPECT_FALSE(SignHeaders(request, good, params).ok());
  params = Params();
  EXPECT_EQ(PresignQuery(request, good, params).code(), absl::StatusCode::kInvalidArgument);
  params.expires = kMaxPresignExpiry + std::chrono::seconds(1);
  EXPECT_EQ(PresignQuery(request, good, params).code(), absl::StatusCode::kInvalidArgument);
  params.expires = kMaxPresignExpiry;
  EXPECT_TRUE(PresignQuery(request, good, params).ok());
}

}  // namespace
}  // namespace basalt::sigv4
