// Test-only: one issuer with a key of each JWT algorithm, and token helpers.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tenancy/jose/base64url.h"
#include "tenancy/jose/jwt.h"
#include "tenancy/jose/key_set.h"
#include "tenancy/jose/testing/signer.h"

namespace basalt::jose::testing {

class JwtFixture : public ::testing::Test {
 protected:
  static constexpr int64_t kNow = 1'700'000'000;

  static void SetUpTestSuite() {
    rsa_ = new TestKey(TestKey::Generate(Alg::kRS256));
    ec_ = new TestKey(TestKey::Generate(Alg::kES256));
    ed_ = new TestKey(TestKey::Generate(Alg::kEdDSA));
    hs_ = new TestKey(TestKey::Hmac(std::string(32, 'k')));
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
    delete ed_;
    delete hs_;
  }

  void SetUp() override {
    policy_.issuer = "https://issuer.example";
    policy_.audiences = {"basalt"};
    policy_.algorithms = {Alg::kRS256, Alg::kPS256, Alg::kES256, Alg::kEdDSA, Alg::kHS256};
    nlohmann::json jwks = {{"keys",
                            {rsa_->Jwk("rsa-rs", "RS256"), rsa_->Jwk("rsa-ps", "PS256"),
                             ec_->Jwk("ec", "ES256"), ed_->Jwk("ed", "EdDSA")}}};
    JwksOptions options{AlgSet::Of(policy_.algorithms)};
    absl::StatusOr<KeySet> set = KeySet::ParseJwks(jwks.dump(), options);
    ASSERT_TRUE(set.ok()) << set.status();
    keys_ = *set;
    absl::StatusOr<VerifyKey> secret = VerifyKey::Hmac(hs_->secret(), "hs");
    ASSERT_TRUE(secret.ok());
    keys_.Add(*secret);
  }

  nlohmann::json Claims() const {
    return {{"iss", policy_.issuer}, {"aud", "basalt"}, {"sub", "user-1"},
            {"exp", kNow + 300}, {"iat", kNow}};
  }
  static const TestKey& KeyFor(Alg alg) {
    switch (FamilyOf(alg)) {
      case KeyFamily::kRsa: return *rsa_;
      case KeyFamily::kEc: return *ec_;
      case KeyFamily::kOkp: return *ed_;
      default: return *hs_;
    }
  }
  static std::string KidFor(Alg alg) {
    switch (alg) {
      case Alg::kRS256: return "rsa-rs";
      case Alg::kPS256: return "rsa-ps";
      case Alg::kES256: return "ec";
      case Alg::kEdDSA: return "ed";
      default: return "hs";
    }
  }
  std::string Token(Alg alg, const nlohmann::json& claims) const {
    nlohmann::json header = {{"alg", AlgName(alg)}, {"kid", KidFor(alg)}, {"typ", "JWT"}};
    return MakeJws(header, claims.dump(), KeyFor(alg), alg);
  }
  std::string Token(Alg alg) const { return Token(alg, Claims()); }
  absl::StatusOr<VerifiedJwt> Verify(std::string_view token) const {
    return VerifyJwt(token, keys_, policy_, kNow);
  }

  static inline TestKey* rsa_ = nullptr;
  static inline TestKey* ec_ = nullptr;
  static inline TestKey* ed_ = nullptr;
  static inline TestKey* hs_ = nullptr;
  JwtPolicy policy_;
  KeySet keys_;
};

}  // namespace basalt::jose::testing
