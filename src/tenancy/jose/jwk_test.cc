// VerifyKey::FromJwk and KeySet::ParseJwks rules (verify_key.h, key_set.h).
#include <gtest/gtest.h>

#include "tenancy/jose/base64url.h"
#include "tenancy/jose/conformance.h"
#include "tenancy/jose/key_set.h"
#include "tenancy/jose/testing/signer.h"
#include "tenancy/jose/verify_key.h"

namespace basalt::jose {
namespace {

using nlohmann::json;
using testing::TestKey;

const AlgSet kJwt = AlgSet::Of({kJwtAlgs, kJwtAlgs + 5});

class JwkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new TestKey(TestKey::Generate(Alg::kRS256));
    ec_ = new TestKey(TestKey::Generate(Alg::kES256));
    ed_ = new TestKey(TestKey::Generate(Alg::kEdDSA));
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
    delete ed_;
  }
  static inline TestKey* rsa_ = nullptr;
  static inline TestKey* ec_ = nullptr;
  static inline TestKey* ed_ = nullptr;
};

TEST_F(JwkTest, AlgFromTheJwkOrFromItsFamilyAndTheAllowedList) {
  absl::StatusOr<VerifyKey> bound = VerifyKey::FromJwk(rsa_->Jwk("k", "PS256"), kJwt);
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ(bound->algs(), AlgSet{Alg::kPS256});
  absl::StatusOr<VerifyKey> open = VerifyKey::FromJwk(rsa_->Jwk("k"), kJwt);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->algs(), (AlgSet{Alg::kRS256, Alg::kPS256}));
  EXPECT_EQ(VerifyKey::FromJwk(rsa_->Jwk("k"), {Alg::kES256}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(VerifyKey::FromJwk(ec_->Jwk("k"), kJwt)->algs(), AlgSet{Alg::kES256});
  EXPECT_EQ(VerifyKey::FromJwk(ed_->Jwk("k"), kJwt)->algs(), AlgSet{Alg::kEdDSA});
  EXPECT_FALSE(VerifyKey::FromJwk(rsa_->Jwk("k", "HS256"), kJwt).ok());
  EXPECT_FALSE(VerifyKey::FromJwk(ec_->Jwk("k", "ES384"), kJwt).ok());
}

TEST_F(JwkTest, RsaKeysBelow2048BitsOrWeakAreRefused) {
  json jwk = rsa_->Jwk("k");
  std::string n = *Base64UrlDecode(jwk["n"].get<std::string>(), "n");
  json small = jwk;
  small["n"] = Base64UrlEncode(n.substr(0, 128));  // 1024 bits
  EXPECT_NE(VerifyKey::FromJwk(small, kJwt).status().message().find("under 2048"),
            absl::string_view::npos);
  json e1 = jwk;
  e1["e"] = "AQ";
  EXPECT_FALSE(VerifyKey::FromJwk(e1, kJwt).ok());
  json even = jwk;
  even["e"] = "AQAA";
  EXPECT_FALSE(VerifyKey::FromJwk(even, kJwt).ok());
  json padded = jwk;  // a leading zero byte is tolerated
  padded["n"] = Base64UrlEncode(std::string(1, '\0') + n);
  EXPECT_TRUE(VerifyKey::FromJwk(padded, kJwt).ok());
}

TEST_F(JwkTest, RocaModulusIsRefused) {
  json doc = testing::LoadConformance("wycheproof/json_web_key_test.json");
  ASSERT_TRUE(doc.is_object());
  for (const json& group : doc["testGroups"]) {
    if (group["comment"] != "jws_rsa_roca_key") continue;
    absl::StatusOr<VerifyKey> key =
        VerifyKey::FromJwk(testing::PublicPart(group["private"]["keys"][0]), kJwt);
    EXPECT_NE(key.status().message().find("ROCA"), absl::string_view::npos) << key.status();
    return;
  }
  ADD_FAILURE() << "ROCA group not found";
}

TEST_F(JwkTest, EcPointsMustBeOnTheCurveAndFullLength) {
  json jwk = ec_->Jwk("k");
  std::string y = *Base64UrlDecode(jwk["y"].get<std::string>(), "y");
  json off = jwk;
  y[31] ^= 1;
  off["y"] = Base64UrlEncode(y);
  EXPECT_NE(VerifyKey::FromJwk(off, kJwt).status().message().find("not on the curve"),
            absl::string_view::npos);
  json short_x = jwk;
  short_x["x"] = Base64UrlEncode(std::string(31, 'a'));
  EXPECT_FALSE(VerifyKey::FromJwk(short_x, kJwt).ok());
  json curve = jwk;
  curve["crv"] = "secp256k1";
  EXPECT_EQ(VerifyKey::FromJwk(curve, kJwt).status().code(), absl::StatusCode::kUnimplemented);
  json ed = ed_->Jwk("k");
  ed["x"] = Base64UrlEncode(std::string(31, 'a'));
  EXPECT_FALSE(VerifyKey::FromJwk(ed, kJwt).ok());
}

TEST_F(JwkTest, UseKeyOpsAndPrivateMembers) {
  json jwk = ec_->Jwk("k");
  jwk["use"] = "enc";
  EXPECT_EQ(VerifyKey::FromJwk(jwk, kJwt).status().code(), absl::StatusCode::kFailedPrecondition);
  jwk["use"] = "sig";
  jwk["key_ops"] = {"sign"};
  EXPECT_EQ(VerifyKey::FromJwk(jwk, kJwt).status().code(), absl::StatusCode::kFailedPrecondition);
  jwk["key_ops"] = {"sign", "verify"};
  EXPECT_TRUE(VerifyKey::FromJwk(jwk, kJwt).ok());
  jwk["d"] = "AAAA";
  EXPECT_FALSE(VerifyKey::FromJwk(jwk, kJwt).ok());
  json kid = ec_->Jwk("");
  kid["kid"] = 3;
  EXPECT_FALSE(VerifyKey::FromJwk(kid, kJwt).ok());
}

TEST_F(JwkTest, HmacKeysNeedTheHashLength) {
  EXPECT_FALSE(VerifyKey::Hmac(std::string(31, 'a'), "").ok());
  EXPECT_FALSE(VerifyKey::Hmac(std::string(64, 'a'), "", Alg::kRS256).ok());
  EXPECT_TRUE(VerifyKey::Hmac(std::string(32, 'a'), "").ok());
  json oct = {{"kty", "oct"}, {"k", Base64UrlEncode(std::string(40, 'a'))}};
  absl::StatusOr<VerifyKey> key = VerifyKey::FromJwk(oct, {Alg::kHS256, Alg::kHS384, Alg::kHS512});
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->algs(), AlgSet{Alg::kHS256});
}

TEST_F(JwkTest, JwksSkipsBadKeysWithReasonsAndFailsWhenNoneRemain) {
  json jwks = {{"keys",
                {ec_->Jwk("good"), {{"kty", "EC"}, {"crv", "P-256"}, {"kid", "broken"}},
                 {{"kty", "ML-DSA"}, {"kid", "future"}}, ed_->Jwk("enc-only")}}};
  jwks["keys"][3]["use"] = "enc";
  absl::StatusOr<KeySet> set = KeySet::ParseJwks(jwks.dump(), {kJwt});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->keys().size(), 1u);
  EXPECT_EQ(set->skipped().size(), 3u);
  json none = {{"keys", {jwks["keys"][1], jwks["keys"][2]}}};
  EXPECT_FALSE(KeySet::ParseJwks(none.dump(), {kJwt}).ok());
  EXPECT_FALSE(KeySet::ParseJwks(R"({"keys":[]})", {kJwt}).ok());
  EXPECT_FALSE(KeySet::ParseJwks(R"({"keys":{}})", {kJwt}).ok());
  EXPECT_FALSE(KeySet::ParseJwks(R"({"keys":[],"keys":[]})", {kJwt}).ok());
}

TEST_F(JwkTest, OctKeysOnlyWhenAllowedAndNeverBesidePublicKeys) {
  json oct = {{"kty", "oct"}, {"kid", "s"}, {"k", Base64UrlEncode(std::string(32, 'a'))}};
  json only_oct = {{"keys", {oct}}};
  EXPECT_FALSE(KeySet::ParseJwks(only_oct.dump(), {kJwt}).ok());
  EXPECT_TRUE(KeySet::ParseJwks(only_oct.dump(), {kJwt, /*allow_hmac_keys=*/true}).ok());
  json mixed = {{"keys", {oct, ec_->Jwk("e")}}};
  EXPECT_FALSE(KeySet::ParseJwks(mixed.dump(), {kJwt, true}).ok());
  EXPECT_FALSE(KeySet::ParseJwks(mixed.dump(), {kJwt}).ok());
}

TEST_F(JwkTest, DuplicateKidsAreDropped) {
  json jwks = {{"keys", {ec_->Jwk("same"), TestKey::Generate(Alg::kES256).Jwk("same"),
                         rsa_->Jwk("same"), ed_->Jwk("other")}}};
  absl::StatusOr<KeySet> set = KeySet::ParseJwks(jwks.dump(), {kJwt});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->keys().size(), 2u);  // the RSA "same" (other kty) and "other"
  EXPECT_FALSE(set->Find(std::string("same"), Alg::kES256).ok());
  EXPECT_TRUE(set->Find(std::string("same"), Alg::kRS256).ok());
}

TEST_F(JwkTest, FindRules) {
  KeySet set;
  set.Add(*VerifyKey::FromJwk(ec_->Jwk("a"), kJwt));
  set.Add(*VerifyKey::FromJwk(ed_->Jwk("b"), kJwt));
  EXPECT_TRUE(set.Find(std::string("a"), Alg::kES256).ok());
  EXPECT_EQ(set.Find(std::string("a"), Alg::kEdDSA).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(set.Find(std::string("zz"), Alg::kES256).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(set.Find(std::nullopt, Alg::kES256).ok());  // one ES256 key
  set.Add(*VerifyKey::FromJwk(TestKey::Generate(Alg::kES256).Jwk("c"), kJwt));
  EXPECT_FALSE(set.Find(std::nullopt, Alg::kES256).ok());  // two: ambiguous
  KeySet secret;
  secret.Add(*VerifyKey::Hmac(std::string(32, 's'), ""));
  EXPECT_TRUE(secret.Find(std::string("any"), Alg::kHS256).ok());
  EXPECT_TRUE(secret.Find(std::nullopt, Alg::kHS256).ok());
}

}  // namespace
}  // namespace basalt::jose
