// The JWT attack suite: one test per attack, tokens made here with generated
// keys. Each expects a rejection and, where it matters, the reason.
#include <gtest/gtest.h>

#include "core/strings.h"
#include "tenancy/jose/jwt_test_fixture.h"

namespace basalt::jose {
namespace {

using nlohmann::json;
using testing::MakeJws;
using testing::MakeJwsFromText;
using testing::TestKey;

class JwtAttack : public testing::JwtFixture {
 protected:
  void ExpectRejected(std::string_view token, std::string_view reason) {
    absl::StatusOr<VerifiedJwt> r = Verify(token);
    ASSERT_FALSE(r.ok()) << "accepted: " << token;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
    EXPECT_NE(r.status().message().find(ToAbsl(reason)), absl::string_view::npos) << r.status();
  }
  // A token with the given header and signature bytes over it.
  std::string WithHeader(const json& header, Alg sign_as) const {
    return MakeJws(header, Claims().dump(), KeyFor(sign_as), sign_as);
  }
  std::string Es256WithSignature(const std::string& sig) const {
    std::string input = StrCat(Base64UrlEncode(R"({"alg":"ES256","kid":"ec"})"), ".",
                               Base64UrlEncode(Claims().dump()));
    return StrCat(input, ".", Base64UrlEncode(sig));
  }
};

// P-256 group order n.
const std::string kP256Order = std::string(
    "\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"
    "\xBC\xE6\xFA\xAD\xA7\x17\x9E\x84\xF3\xB9\xCA\xC2\xFC\x63\x25\x51", 32);

TEST_F(JwtAttack, ValidTokensOfEachAlgorithmAreAccepted) {
  for (Alg alg : policy_.algorithms) {
    absl::StatusOr<VerifiedJwt> r = Verify(Token(alg));
    ASSERT_TRUE(r.ok()) << AlgName(alg) << ": " << r.status();
    EXPECT_EQ(r->alg, alg);
    EXPECT_EQ(r->kid, KidFor(alg));
    EXPECT_EQ(r->claims["sub"], "user-1");
  }
}

TEST_F(JwtAttack, AlgNoneInAnyCase) {
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    std::string input = StrCat(Base64UrlEncode(json{{"alg", none}}.dump()), ".",
                               Base64UrlEncode(Claims().dump()));
    ExpectRejected(StrCat(input, "."), "");
    ExpectRejected(StrCat(input, ".", Base64UrlEncode("x")), "alg none is not accepted");
  }
}

TEST_F(JwtAttack, RsHsConfusionWithThePublicKeyAsSecret) {
  // HS256 signed with the RSA public key's PEM and with its JWK modulus, under
  // the RSA key's kid: the RSA key never verifies HS256.
  for (std::string secret : {rsa_->PublicPem(), rsa_->Jwk("x")["n"].get<std::string>()}) {
    TestKey forged = TestKey::Hmac(secret);
    std::string token = MakeJws({{"alg", "HS256"}, {"kid", "rsa-rs"}}, Claims().dump(), forged,
                                Alg::kHS256);
    absl::StatusOr<VerifiedJwt> r = Verify(token);
    EXPECT_FALSE(r.ok());
  }
  // And with no configured secret at all, there is simply no key.
  KeySet rsa_only;
  rsa_only.Add(*VerifyKey::FromJwk(rsa_->Jwk("rsa"), AlgSet::Of(policy_.algorithms)));
  TestKey forged = TestKey::Hmac(rsa_->PublicPem());
  std::string token =
      MakeJws({{"alg", "HS256"}, {"kid", "rsa"}}, Claims().dump(), forged, Alg::kHS256);
  EXPECT_EQ(VerifyJwt(token, rsa_only, policy_, kNow).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JwtAttack, JkuHeader) {
  ExpectRejected(WithHeader({{"alg", "RS256"}, {"kid", "rsa-rs"}, {"jku", "https://evil/jwks"}},
                            Alg::kRS256),
                 "jku");
}

TEST_F(JwtAttack, X5uHeader) {
  ExpectRejected(WithHeader({{"alg", "RS256"}, {"kid", "rsa-rs"}, {"x5u", "https://evil/c"}},
                            Alg::kRS256),
                 "x5u");
}

TEST_F(JwtAttack, X5cHeader) {
  ExpectRejected(WithHeader({{"alg", "RS256"}, {"kid", "rsa-rs"}, {"x5c", {"MIIB"}}}, Alg::kRS256),
                 "x5c");
}

TEST_F(JwtAttack, EmbeddedJwk) {
  TestKey attacker = TestKey::Generate(Alg::kES256);
  json header = {{"alg", "ES256"}, {"kid", "ec"}, {"jwk", attacker.Jwk("ec")}};
  ExpectRejected(MakeJws(header, Claims().dump(), attacker, Alg::kES256), "jwk");
}

TEST_F(JwtAttack, UnknownCrit) {
  ExpectRejected(WithHeader({{"alg", "ES256"}, {"kid", "ec"}, {"crit", {"exp"}}, {"exp", 1}},
                            Alg::kES256),
                 "unknown critical header");
}

TEST_F(JwtAttack, MalformedCrit) {
  ExpectRejected(WithHeader({{"alg", "ES256"}, {"kid", "ec"}, {"crit", json::array()}}, Alg::kES256),
                 "crit");
  ExpectRejected(WithHeader({{"alg", "ES256"}, {"kid", "ec"}, {"crit", "b64"}}, Alg::kES256), "crit");
  ExpectRejected(WithHeader({{"alg", "ES256"}, {"kid", "ec"}, {"crit", {"b64"}}}, Alg::kES256),
                 "not present");
  ExpectRejected(WithHeader({{"alg", "ES256"}, {"kid", "ec"}, {"crit", {"alg"}}}, Alg::kES256),
                 "unknown critical header");
}

TEST_F(JwtAttack, UnencodedPayload) {
  ExpectRejected(
      WithHeader({{"alg", "ES256"}, {"kid", "ec"}, {"b64", false}, {"crit", {"b64"}}}, Alg::kES256),
      "unencoded payload");
  ExpectRejected(WithHeader({{"alg", "ES256"}, {"kid", "ec"}, {"b64", false}}, Alg::kES256), "crit");
}

TEST_F(JwtAttack, EcdsaRZero) {
  std::string sig = ec_->Sign(Alg::kES256, "x");
  sig.replace(0, 32, std::string(32, '\0'));
  ExpectRejected(Es256WithSignature(sig), "signature does not verify");
}

TEST_F(JwtAttack, EcdsaSZero) {
  std::string sig = ec_->Sign(Alg::kES256, "x");
  sig.replace(32, 32, std::string(32, '\0'));
  ExpectRejected(Es256WithSignature(sig), "signature does not verify");
}

TEST_F(JwtAttack, EcdsaRAtLeastN) {
  std::string token = Token(Alg::kES256);
  std::string sig = *Base64UrlDecode(Split(token, '.')[2], "sig");
  ExpectRejected(Es256WithSignature(kP256Order + sig.substr(32)), "signature does not verify");
  ExpectRejected(Es256WithSignature(std::string(32, '\xff') + sig.substr(32)),
                 "signature does not verify");
}

TEST_F(JwtAttack, EcdsaSAtLeastN) {
  std::string token = Token(Alg::kES256);
  std::string sig = *Base64UrlDecode(Split(token, '.')[2], "sig");
  ExpectRejected(Es256WithSignature(sig.substr(0, 32) + kP256Order), "signature does not verify");
}

TEST_F(JwtAttack, DerEncodedEs256Signature) {
  std::string input = StrCat(Base64UrlEncode(R"({"alg":"ES256","kid":"ec"})"), ".",
                             Base64UrlEncode(Claims().dump()));
  std::string der = ec_->SignDer(Alg::kES256, input);
  ExpectRejected(StrCat(input, ".", Base64UrlEncode(der)), "signature does not verify");
}

TEST_F(JwtAttack, OversizeTokenRefusedBeforeParsing) {
  ExpectRejected(std::string(8193, '#'), "token is over 8192 bytes");
  json big = Claims();
  big["pad"] = std::string(8000, 'a');
  ExpectRejected(Token(Alg::kES256, big), "token is over 8192 bytes");
}

TEST_F(JwtAttack, Expired) {
  json claims = Claims();
  claims["exp"] = kNow - 61;
  ExpectRejected(Token(Alg::kES256, claims), "token expired");
  claims["exp"] = kNow - 30;  // inside the 60 s leeway
  EXPECT_TRUE(Verify(Token(Alg::kES256, claims)).ok());
  policy_.leeway = std::chrono::seconds(0);
  claims["exp"] = kNow;
  ExpectRejected(Token(Alg::kES256, claims), "token expired");
}

TEST_F(JwtAttack, NbfInFuture) {
  json claims = Claims();
  claims["nbf"] = kNow + 61;
  ExpectRejected(Token(Alg::kES256, claims), "token not yet valid");
  claims["nbf"] = kNow + 59;
  EXPECT_TRUE(Verify(Token(Alg::kES256, claims)).ok());
}

TEST_F(JwtAttack, IatInFuture) {
  json claims = Claims();
  claims["iat"] = kNow + 3600;
  ExpectRejected(Token(Alg::kES256, claims), "token issued in the future");
}

TEST_F(JwtAttack, WrongIssuer) {
  json claims = Claims();
  claims["iss"] = "https://issuer.example/";
  ExpectRejected(Token(Alg::kES256, claims), "issuer not accepted");
  claims.erase("iss");
  ExpectRejected(Token(Alg::kES256, claims), "issuer not accepted");
}

TEST_F(JwtAttack, WrongAudience) {
  json claims = Claims();
  claims["aud"] = "other";
  ExpectRejected(Token(Alg::kES256, claims), "audience not accepted");
  claims["aud"] = {"other", "another"};
  ExpectRejected(Token(Alg::kES256, claims), "audience not accepted");
  claims["aud"] = json::array();
  ExpectRejected(Token(Alg::kES256, claims), "audience not accepted");
  claims.erase("aud");
  ExpectRejected(Token(Alg::kES256, claims), "no audience");
  claims["aud"] = {"other", "basalt"};
  EXPECT_TRUE(Verify(Token(Alg::kES256, claims)).ok());
}

TEST_F(JwtAttack, MissingOrMalformedExp) {
  json claims = Claims();
  claims.erase("exp");
  ExpectRejected(Token(Alg::kES256, claims), "token has no exp");
  claims["exp"] = std::to_string(kNow + 300);
  ExpectRejected(Token(Alg::kES256, claims), "exp is not a number");
}

TEST_F(JwtAttack, KidNotInSet) {
  std::string token = MakeJws({{"alg", "ES256"}, {"kid", "rotated-away"}}, Claims().dump(), *ec_,
                              Alg::kES256);
  absl::StatusOr<VerifiedJwt> r = Verify(token);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_NE(r.status().message().find("no key for kid"), absl::string_view::npos);
}

TEST_F(JwtAttack, AlgNotAllowedForIssuer) {
  policy_.algorithms = {Alg::kES256};
  ExpectRejected(Token(Alg::kRS256), "alg RS256 is not allowed");
  // Nor can a policy name an algorithm outside the JWT five.
  policy_.algorithms = {Alg::kRS512};
  EXPECT_EQ(Verify(Token(Alg::kRS256)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(JwtAttack, JwkAlgMismatch) {
  // kid "rsa-rs" is bound to RS256; a PS256 token under it finds no key.
  std::string token =
      MakeJws({{"alg", "PS256"}, {"kid", "rsa-rs"}}, Claims().dump(), *rsa_, Alg::kPS256);
  EXPECT_FALSE(Verify(token).ok());
  EXPECT_TRUE(Verify(MakeJws({{"alg", "PS256"}, {"kid", "rsa-ps"}}, Claims().dump(), *rsa_,
                             Alg::kPS256))
                  .ok());
}

TEST_F(JwtAttack, DuplicateClaimKeys) {
  std::string claims = StrCat(R"({"iss":"https://issuer.example","aud":"basalt","exp":)",
                              kNow + 300, R"(,"sub":"user-1","sub":"admin"})");
  ExpectRejected(MakeJwsFromText(R"({"alg":"ES256","kid":"ec"})", claims, *ec_, Alg::kES256),
                 "duplicate");
}

TEST_F(JwtAttack, DuplicateHeaderKeys) {
  ExpectRejected(MakeJwsFromText(R"({"alg":"ES256","kid":"ec","alg":"HS256"})", Claims().dump(),
                                 *ec_, Alg::kES256),
                 "duplicate");
}

TEST_F(JwtAttack, BadBase64url) {
  std::string token = Token(Alg::kHS256);
  ExpectRejected(StrCat(token, "="), "base64url");
  std::string plus = token;
  plus[plus.rfind('.') + 1] = '+';
  ExpectRejected(plus, "base64url");
  ExpectRejected(StrCat(" ", token), "base64url");
  std::string header_pad = token;
  header_pad.insert(header_pad.find('.'), "==");
  ExpectRejected(header_pad, "base64url");
}

TEST_F(JwtAttack, TrailingDataAndExtraSegments) {
  std::string token = Token(Alg::kES256);
  ExpectRejected(StrCat(token, "."), "three segments");
  ExpectRejected(StrCat(token, ".e30"), "three segments");
  ExpectRejected(StrCat(token, "AAAA"), "signature does not verify");
  ExpectRejected(token.substr(0, token.rfind('.')), "three segments");
}

TEST_F(JwtAttack, TypOtherThanJwt) {
  json header = {{"alg", "ES256"}, {"kid", "ec"}};
  for (const char* ok : {"JWT", "jwt", "at+jwt", "application/at+JWT"}) {
    header["typ"] = ok;
    EXPECT_TRUE(Verify(WithHeader(header, Alg::kES256)).ok()) << ok;
  }
  header["typ"] = "JOSE";
  ExpectRejected(WithHeader(header, Alg::kES256), "typ is not JWT");
  header["typ"] = 1;
  ExpectRejected(WithHeader(header, Alg::kES256), "typ is not a string");
}

TEST_F(JwtAttack, WrongKidType) {
  ExpectRejected(WithHeader({{"alg", "ES256"}, {"kid", 7}}, Alg::kES256), "kid is not a string");
}

TEST_F(JwtAttack, NonObjectHeaderOrClaims) {
  ExpectRejected(MakeJwsFromText(R"(["ES256"])", Claims().dump(), *ec_, Alg::kES256),
                 "not a JSON object");
  ExpectRejected(MakeJwsFromText(R"({"alg":"ES256","kid":"ec"})", R"("claims")", *ec_, Alg::kES256),
                 "not a JSON object");
}

TEST_F(JwtAttack, WrongSecretSaysOnlyThatTheSignatureFails) {
  TestKey near = TestKey::Hmac(std::string(31, 'k') + "K");
  std::string token = MakeJws({{"alg", "HS256"}, {"kid", "hs"}}, Claims().dump(), near, Alg::kHS256);
  absl::StatusOr<VerifiedJwt> r = Verify(token);
  EXPECT_EQ(r.status(), absl::UnauthenticatedError("signature does not verify"));
}

TEST_F(JwtAttack, NestedJwtRefused) {
  ExpectRejected(WithHeader({{"alg", "ES256"}, {"kid", "ec"}, {"cty", "JWT"}}, Alg::kES256),
                 "nested");
}

}  // namespace
}  // namespace basalt::jose
