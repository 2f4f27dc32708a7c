#include "tenancy/jose/issuer_verifier.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "tenancy/jose/jwt_test_fixture.h"

namespace basalt::jose {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using testing::MakeJws;

class IssuerVerifierTest : public testing::JwtFixture {
 protected:
  absl::StatusOr<VerifiedJwt> RunVerify(const IssuerVerifier& v, std::string token) {
    std::optional<absl::StatusOr<VerifiedJwt>> out;
    asio::co_spawn(
        io_, [&]() -> asio::awaitable<void> { out.emplace(co_await v.Verify(token)); },
        asio::detached);
    io_.run();
    io_.restart();
    return *out;
  }
  asio::io_context io_;
  FakeClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(kNow))};
};

TEST_F(IssuerVerifierTest, PicksTheIssuerByIssAndChecksOnlyItsKeys) {
  IssuerVerifier verifier(clock_);
  Issuer a{policy_, std::make_shared<const KeySet>(keys_), nullptr};
  ASSERT_TRUE(verifier.AddIssuer(a).ok());
  JwtPolicy other = policy_;
  other.issuer = "https://other.example";
  other.algorithms = {Alg::kHS256};
  KeySet other_keys;
  other_keys.Add(*VerifyKey::Hmac(std::string(32, 'o'), ""));
  ASSERT_TRUE(verifier.AddIssuer({other, std::make_shared<const KeySet>(other_keys), nullptr}).ok());
  EXPECT_FALSE(verifier.AddIssuer(a).ok());  // twice

  EXPECT_TRUE(RunVerify(verifier, Token(Alg::kES256)).ok());
  // A token claiming the other issuer but signed with the first issuer's key.
  json claims = Claims();
  claims["iss"] = "https://other.example";
  EXPECT_FALSE(RunVerify(verifier, Token(Alg::kES256, claims)).ok());
  EXPECT_FALSE(RunVerify(verifier, Token(Alg::kHS256, claims)).ok());  // wrong secret
  claims["iss"] = "https://unknown.example";
  EXPECT_EQ(RunVerify(verifier, Token(Alg::kES256, claims)).status(),
            absl::UnauthenticatedError("issuer not accepted"));
  EXPECT_EQ(RunVerify(verifier, "a.b.c").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(IssuerVerifierTest, RejectsIssuersWithoutKeysOrWithBadPolicies) {
  IssuerVerifier verifier(clock_);
  EXPECT_FALSE(verifier.AddIssuer({policy_, nullptr, nullptr}).ok());
  JwtPolicy bad = policy_;
  bad.audiences.clear();
  EXPECT_FALSE(verifier.AddIssuer({bad, std::make_shared<const KeySet>(keys_), nullptr}).ok());
}

}  // namespace
}  // namespace basalt::jose
