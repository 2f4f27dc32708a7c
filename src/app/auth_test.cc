#include "app/auth.h"

#include <gtest/gtest.h>

namespace basalt::app {
namespace {

TEST(StaticAuthenticator, BearerAndApiKeyHeader) {
  StaticAuthenticator auth({"0123456789abcdef0123"}, {});
  net::RawRequest raw;
  net::HttpRequest req(raw);
  EXPECT_EQ(auth.Authenticate(req, net::AuthScheme::kBearer).code(),
            absl::StatusCode::kUnauthenticated);
  raw.set("Authorization", "Bearer wrong-key-wrong-key-");
  EXPECT_EQ(auth.Authenticate(req, net::AuthScheme::kBearer).code(),
            absl::StatusCode::kUnauthenticated);
  raw.set("Authorization", "Bearer 0123456789abcdef0123");
  ASSERT_TRUE(auth.Authenticate(req, net::AuthScheme::kBearer).ok());
  EXPECT_EQ(req.ctx.tenant, "default");
  EXPECT_EQ(req.ctx.principal, "api_key:012345");
  raw.erase("Authorization");
  raw.set("x-api-key", "0123456789abcdef0123");
  EXPECT_TRUE(auth.Authenticate(req, net::AuthScheme::kBearer).ok());
}

TEST(StaticAuthenticator, AKeyNamesItsTenant) {
  StaticAuthenticator auth({"acme:0123456789abcdef0123", "fedcba9876543210fedc"}, {});
  net::RawRequest raw;
  net::HttpRequest req(raw);
  raw.set("x-api-key", "0123456789abcdef0123");
  ASSERT_TRUE(auth.Authenticate(req, net::AuthScheme::kBearer).ok());
  EXPECT_EQ(req.ctx.tenant, "acme");
  raw.set("x-api-key", "acme:0123456789abcdef0123");
  EXPECT_FALSE(auth.Authenticate(req, net::AuthScheme::kBearer).ok())
      << "the tenant prefix is configuration, not part of the key";
  raw.set("x-api-key", "fedcba9876543210fedc");
  ASSERT_TRUE(auth.Authenticate(req, net::AuthScheme::kBearer).ok());
  EXPECT_EQ(req.ctx.tenant, "default");
}

TEST(StaticAuthenticator, PrefixOfAKeyIsNotAKey) {
  StaticAuthenticator auth({"0123456789abcdef0123"}, {});
  net::RawRequest raw;
  raw.set("x-api-key", "0123456789abcdef012");
  net::HttpRequest req(raw);
  EXPECT_FALSE(auth.Authenticate(req, net::AuthScheme::kBearer).ok());
}

}  // namespace
}  // namespace basalt::app

#include "net/sigv4.h"

namespace basalt::app {
namespace {

// A request signed by our own signer, as boto3 would send it, verifies; a
// tampered body or a stale clock is refused with kPermissionDenied.
TEST(StaticAuthenticator, SigV4SignedRequests) {
  FakeClock clock(std::chrono::system_clock::from_time_t(1'800'000'000));
  StaticAuthenticator auth({}, {"AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, clock);
  sigv4::SignableRequest signable;
  signable.method = "POST";
  signable.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
  signable.headers = {{"Host", "127.0.0.1:8080"}, {"Content-Type", "application/json"}};
  signable.body = R"({"messages":[]})";
  sigv4::SigningParams params;
  params.region = "us-east-1";
  params.service = "bedrock";
  params.time = clock.Now();
  ASSERT_TRUE(sigv4::SignHeaders(signable, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}, params).ok());

  auto to_http = [&](net::RawRequest& raw) {
    raw.method(boost::beast::http::verb::post);
    raw.target(signable.path);
    for (const auto& [k, v] : signable.headers) raw.set(k, v);
    raw.body() = signable.body;
  };
  net::RawRequest raw;
  to_http(raw);
  net::HttpRequest req(raw);
  req.path = signable.path;
  ASSERT_TRUE(auth.Authenticate(req, net::AuthScheme::kSigV4).ok());
  EXPECT_EQ(req.ctx.principal, "aws:AKIDEXAMPLE");

  raw.body() = R"({"messages":[1]})";
  EXPECT_EQ(auth.Authenticate(req, net::AuthScheme::kSigV4).code(),
            absl::StatusCode::kPermissionDenied);
  raw.body() = signable.body;
  clock.Advance(std::chrono::minutes(6));
  EXPECT_EQ(auth.Authenticate(req, net::AuthScheme::kSigV4).code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace basalt::app
