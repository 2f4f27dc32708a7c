#include "net/sigv4_verifier.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/sigv4.h"

namespace basalt::sigv4 {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

class SigV4VerifierTest : public testing::Test {
 protected:
  SigV4VerifierTest()
      : now_(ParseAmzDate("20150830T123600Z").value()),
        clock_(now_),
        verifier_([this](std::string_view id) { return Lookup(id); }, clock_) {}

  std::optional<AwsCredentials> Lookup(std::string_view id) const {
    if (id == "AKID") return AwsCredentials{"AKID", std::string(kSecret), ""};
    if (id == "TEMP") return AwsCredentials{"TEMP", std::string(kSecret), "session"};
    return std::nullopt;
  }

  SigningParams Params(seconds offset = seconds(0)) const {
    SigningParams params;
    params.region = "us-west-2";
    params.service = "bedrock";
    params.time = now_ + offset;
    params.expires = seconds(900);
    return params;
  }

  static SignableRequest Request() {
    return {"POST", "/model/m%3A1/invoke", "", {{"Host", "bedrock.local"}}, R"({"a":1})"};
  }

  SignableRequest Signed(AwsCredentials credentials = {"AKID", std::string(kSecret), ""},
                         seconds offset = seconds(0)) const {
    SignableRequest request = Request();
    EXPECT_TRUE(SignHeaders(request, credentials, Params(offset)).ok());
    return request;
  }

  SignableRequest Presigned(seconds offset = seconds(0)) const {
    SignableRequest request = Request();
    EXPECT_TRUE(PresignQuery(request, {"AKID", std::string(kSecret), ""}, Params(offset)).ok());
    return request;
  }

  static std::string& Header(SignableRequest& request, std::string_view name) {
    for (auto& [key, value] : request.headers) {
      if (key == name) return value;
    }
    request.headers.emplace_back(std::string(name), "");
    return request.headers.back().second;
  }

  absl::Status Verify(const SignableRequest& request) const {
    return verifier_.Verify(request).status();
  }

  std::chrono::system_clock::time_point now_;
  FakeClock clock_;
  SigV4Verifier verifier_;
};

MATCHER_P2(IsError, code, text, "") {
  return arg.code() == code && std::string(arg.message()).find(text) != std::string::npos;
}

TEST_F(SigV4VerifierTest, AcceptsBothFlavours) {
  absl::StatusOr<VerifiedIdentity> identity = verifier_.Verify(Signed());
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->access_key_id, "AKID");
  EXPECT_EQ(identity->region, "us-west-2");
  EXPECT_EQ(identity->service, "bedrock");
  EXPECT_TRUE(Verify(Presigned()).ok());
}

TEST_F(SigV4VerifierTest, RejectsUnsignedRequests) {
  EXPECT_THAT(Verify(Request()),
              IsError(absl::StatusCode::kUnauthenticated, "Missing Authentication Token"));
  SignableRequest header_signed = Signed();
  SignableRequest both = Presigned();
  both.headers.emplace_back("Authorization", Header(header_signed, "Authorization"));
  EXPECT_THAT(Verify(both), IsError(absl::StatusCode::kUnauthenticated, "Only one auth"));
}

TEST_F(SigV4VerifierTest, NamesWhatIsMalformedInAuthorization) {
  const struct {
    std::string_view authorization;
    std::string_view message;
  } cases[] = {
      {"AWS4-HMAC-SHA1 Credential=x", "Authorization: unsupported algorithm"},
      {"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-west-2/bedrock/aws4_request, Signature=00",
       "Authorization: missing SignedHeaders"},
      {"AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00", "Authorization: missing Credential"},
      {"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-west-2/bedrock/aws4_request, "
       "SignedHeaders=host",
       "Authorization: missing Signature"},
      {"AWS4-HMAC-SHA256 Credential=a, Credential=b", "Authorization: duplicate Credential"},
      {"AWS4-HMAC-SHA256 Foo=bar", "Authorization: unexpected component"},
      {"AWS4-HMAC-SHA256 Credential=AKID/20150830/bedrock/aws4_request, SignedHeaders=host, "
       "Signature=00",
       "malformed credential"},
      {"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-west-2/bedrock/aws4_request, "
       "SignedHeaders=x-amz-date;host, Signature=00",
       "sorted and unique"},
      {"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-west-2/bedrock/aws4_request, "
       "SignedHeaders=x-amz-date, Signature=00",
       "must include host"},
      {"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-west-2/bedrock/aws4_request, "
       "SignedHeaders=host;x-other, Signature=00",
       "'x-other' is not in the request"},
      {"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-west-2/bedrock/aws4_request, "
       "SignedHeaders=host, Signature=00",
       "Signature: must be 64 lowercase hex digits"},
  };
  for (const auto& c : cases) {
    SignableRequest request = Signed();
    Header(request, "Authorization") = std::string(c.authorization);
    EXPECT_THAT(Verify(request), IsError(absl::StatusCode::kUnauthenticated, c.message))
        << c.authorization;
  }
}

TEST_F(SigV4VerifierTest, RejectsMissingOrMismatchedDate) {
  SignableRequest request = Signed();
  std::erase_if(request.headers, [](const auto& h) { return h.first == "X-Amz-Date"; });
  EXPECT_THAT(Verify(request), IsError(absl::StatusCode::kUnauthenticated,
                                       "signed header 'x-amz-date' is not in the request"));
  Header(request, "Authorization") =
      "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-west-2/bedrock/aws4_request, "
      "SignedHeaders=host, Signature=" +
      std::string(64, 'a');
  EXPECT_THAT(Verify(request),
              IsError(absl::StatusCode::kUnauthenticated, "X-Amz-Date: missing header"));

  request = Signed();
  Header(request, "X-Amz-Date") = "20150831T000000Z";
  EXPECT_THAT(Verify(request), IsError(absl::StatusCode::kUnauthenticated,
                                       "scope date 20150830 does not match X-Amz-Date"));
}

TEST_F(SigV4VerifierTest, RejectsUnknownKeysAndWrongSessionTokens) {
  EXPECT_THAT(Verify(Signed({"NOPE", std::string(kSecret), ""})),
              IsError(absl::StatusCode::kUnauthenticated, "security token included"));
  EXPECT_TRUE(Verify(Signed({"TEMP", std::string(kSecret), "session"})).ok());
  EXPECT_THAT(Verify(Signed({"TEMP", std::string(kSecret), ""})),
              IsError(absl::StatusCode::kUnauthenticated, "security token included"));
  EXPECT_THAT(Verify(Signed({"TEMP", std::string(kSecret), "other"})),
              IsError(absl::StatusCode::kUnauthenticated, "security token included"));
  EXPECT_THAT(Verify(Signed({"AKID", std::string(kSecret), "session"})),
              IsError(absl::StatusCode::kUnauthenticated, "security token included"));
}

TEST_F(SigV4VerifierTest, RejectsWrongSecretAsSignatureMismatch) {
  EXPECT_THAT(Verify(Signed({"AKID", "not-the-secret", ""})),
              IsError(absl::StatusCode::kPermissionDenied,
                      "The request signature we calculated does not match"));
}

TEST_F(SigV4VerifierTest, EnforcesClockSkewBothWays) {
  EXPECT_TRUE(Verify(Signed({"AKID", std::string(kSecret), ""}, seconds(300))).ok());
  EXPECT_TRUE(Verify(Signed({"AKID", std::string(kSecret), ""}, seconds(-300))).ok());
  EXPECT_THAT(Verify(Signed({"AKID", std::string(kSecret), ""}, seconds(301))),
              IsError(absl::StatusCode::kPermissionDenied, "too skewed"));
  EXPECT_THAT(Verify(Signed({"AKID", std::string(kSecret), ""}, seconds(-301))),
              IsError(absl::StatusCode::kPermissionDenied, "Signature expired"));
}

TEST_F(SigV4VerifierTest, PresignedUrlsExpire) {
  EXPECT_TRUE(Verify(Presigned(seconds(-900))).ok());
  EXPECT_THAT(Verify(Presigned(seconds(-901))),
              IsError(absl::StatusCode::kPermissionDenied, "Signature expired"));
  EXPECT_THAT(Verify(Presigned(seconds(301))),
              IsError(absl::StatusCode::kPermissionDenied, "too skewed"));
}

TEST_F(SigV4VerifierTest, RejectsMalformedPresignedParameters) {
  for (std::string_view expires : {"0", "604801", "99999999999999999999", "-5", "1e3", ""}) {
    SignableRequest request = Presigned();
    const size_t start = request.query.find("X-Amz-Expires=") + 14;
    request.query.replace(start, request.query.find('&', start) - start, expires);
    EXPECT_THAT(Verify(request), IsError(absl::StatusCode::kUnauthenticated, "X-Amz-Expires"))
        << expires;
  }
  SignableRequest request = Presigned();
  request.query += "&X-Amz-Date=20150830T123600Z";
  EXPECT_THAT(Verify(request), IsError(absl::StatusCode::kUnauthenticated, "duplicate"));
  request = Presigned();
  request.query.replace(request.query.find("X-Amz-Credential"), 3, "Foo");
  EXPECT_THAT(Verify(request),
              IsError(absl::StatusCode::kUnauthenticated, "X-Amz-Credential: missing"));
}

TEST_F(SigV4VerifierTest, ChecksContentSha256Header) {
  SignableRequest request = Signed();
  request.body = "changed";
  EXPECT_THAT(Verify(request),
              IsError(absl::StatusCode::kPermissionDenied, "x-amz-content-sha256"));
  request = Signed();
  Header(request, "x-amz-content-sha256") = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  EXPECT_THAT(Verify(request), IsError(absl::StatusCode::kUnauthenticated, "unsupported value"));
}

TEST_F(SigV4VerifierTest, AcceptsUnsignedPayload) {
  SignableRequest request = Request();
  request.headers.emplace_back("X-Amz-Date", "20150830T123600Z");
  request.headers.emplace_back("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD");
  const std::vector<std::string> names = {"host", "x-amz-content-sha256", "x-amz-date"};
  const std::string scope = CredentialScope("20150830", "us-west-2", "bedrock");
  const std::string signature =
      Signature(DeriveSigningKey(kSecret, "20150830", "us-west-2", "bedrock"),
                StringToSign("20150830T123600Z", scope,
                             CanonicalRequest(request, names, "UNSIGNED-PAYLOAD", true)));
  request.headers.emplace_back(
      "Authorization",
      "AWS4-HMAC-SHA256 Credential=AKID/" + scope +
          ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + signature);
  request.body = "anything";
  EXPECT_TRUE(Verify(request).ok());
}

TEST_F(SigV4VerifierTest, AcceptsUnnormalizedPathSignatures) {
  SignableRequest request = Request();
  request.path = "/a/../model//x";
  SigningParams params = Params();
  params.normalize_path = false;
  ASSERT_TRUE(SignHeaders(request, {"AKID", std::string(kSecret), ""}, params).ok());
  EXPECT_TRUE(Verify(request).ok());
  request.path = "/model/x";
  EXPECT_THAT(Verify(request), IsError(absl::StatusCode::kPermissionDenied, "does not match"));
}

TEST_F(SigV4VerifierTest, RejectsDuplicateAuthorizationHeaders) {
  SignableRequest request = Signed();
  request.headers.emplace_back("authorization", "AWS4-HMAC-SHA256 x");
  EXPECT_THAT(Verify(request),
              IsError(absl::StatusCode::kUnauthenticated, "Authorization: more than one"));
}

// The AWS SDK for JavaScript over HTTP/2 (its default NodeHttp2Handler) signs the
// :authority pseudo-header in place of host; basalt's HTTP/2 server passes it on
// as a header of that name.
TEST_F(SigV4VerifierTest, AcceptsHttp2AuthorityInPlaceOfHost) {
  SignableRequest request = Request();
  request.headers = {{":authority", "bedrock.local"},
                     {"host", "bedrock.local"},
                     {"x-amz-date", "20150830T123600Z"}};
  const std::vector<std::string> names = {":authority", "x-amz-date"};
  const std::string scope = CredentialScope("20150830", "us-west-2", "bedrock");
  const std::string signature =
      Signature(DeriveSigningKey(kSecret, "20150830", "us-west-2", "bedrock"),
                StringToSign("20150830T123600Z", scope,
                             CanonicalRequest(request, names, HexSha256(request.body), true)));
  request.headers.emplace_back("authorization",
                               "AWS4-HMAC-SHA256 Credential=AKID/" + scope +
                                   ", SignedHeaders=:authority;x-amz-date, Signature=" + signature);
  EXPECT_TRUE(Verify(request).ok());
  Header(request, ":authority") = "elsewhere.local";
  EXPECT_THAT(Verify(request), IsError(absl::StatusCode::kPermissionDenied, "does not match"));
}

TEST_F(SigV4VerifierTest, StillRequiresHostOrAuthority) {
  SignableRequest request = Signed();
  std::string& auth = Header(request, "Authorization");
  auth.replace(auth.find("SignedHeaders=host;"), 19, "SignedHeaders=");
  EXPECT_THAT(Verify(request), IsError(absl::StatusCode::kUnauthenticated, "must include host"));
}

}  // namespace
}  // namespace basalt::sigv4
