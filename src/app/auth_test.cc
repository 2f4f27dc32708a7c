#include "app/auth.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace basalt::app {
namespace {

// Runs one Authenticate call to completion.
absl::Status Auth(const net::Authenticator& auth, net::HttpRequest& req, net::AuthScheme scheme) {
  boost::asio::io_context io;
  auto result = boost::asio::co_spawn(io, auth.Authenticate(req, scheme), boost::asio::use_future);
  io.run();
  return result.get();
}

TenantAuthenticator Static(std::vector<std::string> api_keys, std::vector<std::string> sigv4,
                           const Clock& clock = RealClock::Instance()) {
  AuthOptions options;
  options.api_keys = std::move(api_keys);
  options.sigv4_keys = std::move(sigv4);
  return TenantAuthenticator(options, nullptr, nullptr, nullptr, clock);
}

TEST(TenantAuthenticator, BearerAndApiKeyHeader) {
  TenantAuthenticator auth = Static({"0123456789abcdef0123"}, {});
  net::RawRequest raw;
  net::HttpRequest req(raw);
  EXPECT_EQ(Auth(auth, req, net::AuthScheme::kBearer).code(),
            absl::StatusCode::kUnauthenticated);
  raw.set("Authorization", "Bearer wrong-key-wrong-key-");
  EXPECT_EQ(Auth(auth, req, net::AuthScheme::kBearer).code(),
            absl::StatusCode::kUnauthenticated);
  raw.set("Authorization", "Bearer 0123456789abcdef0123");
  ASSERT_TRUE(Auth(auth, req, net::AuthScheme::kBearer).ok());
  EXPECT_EQ(req.ctx.tenant, "default");
  EXPECT_EQ(req.ctx.principal.rfind("config_key:", 0), 0u) << "never the key itself";
  EXPECT_EQ(req.ctx.principal.find("0123456789"), std::string::npos);
  raw.erase("Authorization");
  raw.set("x-api-key", "0123456789abcdef0123");
  EXPECT_TRUE(Auth(auth, req, net::AuthScheme::kBearer).ok());
}

TEST(TenantAuthenticator, AKeyNamesItsTenant) {
  TenantAuthenticator auth = Static({"acme:0123456789abcdef0123", "fedcba9876543210fedc"}, {});
  net::RawRequest raw;
  net::HttpRequest req(raw);
  raw.set("x-api-key", "0123456789abcdef0123");
  ASSERT_TRUE(Auth(auth, req, net::AuthScheme::kBearer).ok());
  EXPECT_EQ(req.ctx.tenant, "acme");
  raw.set("x-api-key", "acme:0123456789abcdef0123");
  EXPECT_FALSE(Auth(auth, req, net::AuthScheme::kBearer).ok())
      << "the tenant prefix is configuration, not part of the key";
  raw.set("x-api-key", "fedcba9876543210fedc");
  ASSERT_TRUE(Auth(auth, req, net::AuthScheme::kBearer).ok());
  EXPECT_EQ(req.ctx.tenant, "default");
}

TEST(TenantAuthenticator, PrefixOfAKeyIsNotAKey) {
  TenantAuthenticator auth = Static({"0123456789abcdef0123"}, {});
  net::RawRequest raw;
  raw.set("x-api-key", "0123456789abcdef012");
  net::HttpRequest req(raw);
  EXPECT_FALSE(Auth(auth, req, net::AuthScheme::kBearer).ok());
}

}  // namespace
}  // namespace basalt::app

#include "net/sigv4.h"

namespace basalt::app {
namespace {

// A request signed by our own signer, as boto3 would send it, verifies; a
// tampered body or a stale clock is refused with kPermissionDenied.
TEST(TenantAuthenticator, SigV4SignedRequests) {
  FakeClock clock(std::chrono::system_clock::from_time_t(1'800'000'000));
  TenantAuthenticator auth = Static({}, {"AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, clock);
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
  ASSERT_TRUE(Auth(auth, req, net::AuthScheme::kSigV4).ok());
  EXPECT_EQ(req.ctx.principal, "aws:AKIDEXAMPLE");

  raw.body() = R"({"messages":[1]})";
  EXPECT_EQ(Auth(auth, req, net::AuthScheme::kSigV4).code(),
            absl::StatusCode::kPermissionDenied);
  raw.body() = signable.body;
  clock.Advance(std::chrono::minutes(6));
  EXPECT_EQ(Auth(auth, req, net::AuthScheme::kSigV4).code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace basalt::app

#include "store/memory/memory_store.h"

namespace basalt::app {
namespace {

TEST(TenantAuthenticator, ManagedKeysYieldTheirTenantAndScopes) {
  MemoryStore store;
  auto directory = *tenancy::Directory::Load(store, {}, {}, tenancy::RoleTable(), nullptr);
  ASSERT_TRUE(directory->Create(nlohmann::json::parse(R"({"name":"acme"})")).ok());
  auto minted = directory->CreateKey("acme", {"ci", {"invoker"}, 0});
  ASSERT_TRUE(minted.ok());
  std::vector<std::string> audited;
  TenantAuthenticator auth(AuthOptions{}, directory.get(), nullptr,
                           [&](const net::HttpRequest&, std::string_view action, std::string_view,
                               std::string_view) { audited.emplace_back(action); });
  net::RawRequest raw;
  raw.set("Authorization", "Bearer " + minted->key);
  net::HttpRequest req(raw);
  ASSERT_TRUE(Auth(auth, req, net::AuthScheme::kBearer).ok());
  EXPECT_EQ(req.ctx.tenant, "acme");
  EXPECT_EQ(req.ctx.key_id, minted->record.id);
  EXPECT_TRUE(auth.Authorize(req, Permission::kModelsInvoke).ok());
  absl::Status denied = auth.Authorize(req, Permission::kAsyncWrite);
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("async:write"), std::string::npos);

  std::string wrong = minted->key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  raw.set("Authorization", "Bearer " + wrong);
  net::HttpRequest bad(raw);
  absl::Status s = Auth(auth, bad, net::AuthScheme::kBearer);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(), "invalid API key") << "never says which part was right";

  ASSERT_TRUE(directory->SetStatus("acme", tenancy::TenantStatus::kSuspended).ok());
  absl::Status suspended = auth.Authorize(req, Permission::kModelsInvoke);
  EXPECT_EQ(suspended.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(suspended.message().find("suspended"), std::string::npos);

  ASSERT_TRUE(directory->RevokeKey("acme", minted->record.id).ok());
  raw.set("Authorization", "Bearer " + minted->key);
  net::HttpRequest revoked(raw);
  EXPECT_EQ(Auth(auth, revoked, net::AuthScheme::kBearer).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_GE(audited.size(), 4u) << "denials and failures are audited";
}

}  // namespace
}  // namespace basalt::app
