#include "app/auth.h"

#include <gtest/gtest.h>

namespace basalt::app {
namespace {

TEST(StaticAuthenticator, BearerAndApiKeyHeader) {
  StaticAuthenticator auth({"0123456789abcdef0123"});
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

TEST(StaticAuthenticator, PrefixOfAKeyIsNotAKey) {
  StaticAuthenticator auth({"0123456789abcdef0123"});
  net::RawRequest raw;
  raw.set("x-api-key", "0123456789abcdef012");
  net::HttpRequest req(raw);
  EXPECT_FALSE(auth.Authenticate(req, net::AuthScheme::kBearer).ok());
}

}  // namespace
}  // namespace basalt::app
