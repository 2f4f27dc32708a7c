// General JWS paths the conformance suites do not reach.
#include "tenancy/jose/jws.h"

#include <gtest/gtest.h>

#include "core/strings.h"
#include "tenancy/jose/base64url.h"
#include "tenancy/jose/testing/signer.h"

namespace basalt::jose {
namespace {

using nlohmann::json;
using testing::TestKey;

class JwsTest : public ::testing::Test {
 protected:
  void SetUp() override { keys_.Add(*VerifyKey::Hmac(key_.secret(), "k")); }
  TestKey key_ = TestKey::Hmac(std::string(32, 'x'));
  KeySet keys_;
  JwsOptions options_{{Alg::kHS256}};
};

TEST_F(JwsTest, UnencodedPayloadWhenAllowed) {
  std::string header = Base64UrlEncode(R"({"alg":"HS256","kid":"k","b64":false,"crit":["b64"]})");
  std::string input = StrCat(header, ".", "$.02");
  std::string sig = Base64UrlEncode(key_.Sign(Alg::kHS256, input));
  std::string detached = StrCat(header, "..", sig);
  EXPECT_FALSE(VerifyCompactJws(detached, keys_, options_, std::string_view("$.02")).ok());
  JwsOptions allow = options_;
  allow.allow_unencoded_payload = true;
  absl::StatusOr<VerifiedJws> r = VerifyCompactJws(detached, keys_, allow, std::string_view("$.02"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->payload, "$.02");
}

TEST_F(JwsTest, JsonSerializationRules) {
  std::string prot = Base64UrlEncode(R"({"alg":"HS256"})");
  std::string payload = Base64UrlEncode("hi");
  std::string sig = Base64UrlEncode(key_.Sign(Alg::kHS256, StrCat(prot, ".", payload)));
  json flat = {{"payload", payload}, {"protected", prot}, {"header", {{"kid", "k"}}},
               {"signature", sig}};
  EXPECT_TRUE(VerifyJsonJws(flat.dump(), keys_, options_).ok());
  json clash = flat;
  clash["header"]["alg"] = "HS256";  // in both headers
  EXPECT_FALSE(VerifyJsonJws(clash.dump(), keys_, options_).ok());
  json crit = flat;
  crit["header"]["crit"] = {"b64"};
  EXPECT_FALSE(VerifyJsonJws(crit.dump(), keys_, options_).ok());
  json jku = flat;
  jku["header"]["jku"] = "https://evil";
  EXPECT_FALSE(VerifyJsonJws(jku.dump(), keys_, options_).ok());
  json general = {{"payload", payload},
                  {"signatures", {{{"protected", prot}, {"header", {{"kid", "nope"}}}, {"signature", sig}},
                                  {{"protected", prot}, {"header", {{"kid", "k"}}}, {"signature", sig}}}}};
  EXPECT_TRUE(VerifyJsonJws(general.dump(), keys_, options_).ok());
  general["signatures"].erase(1);
  EXPECT_FALSE(VerifyJsonJws(general.dump(), keys_, options_).ok());
  json both = general;
  both["signature"] = sig;
  EXPECT_FALSE(VerifyJsonJws(both.dump(), keys_, options_).ok());
}

TEST_F(JwsTest, EmptySignatureAndMissingHeader) {
  std::string header = Base64UrlEncode(R"({"alg":"HS256","kid":"k"})");
  EXPECT_FALSE(VerifyCompactJws(StrCat(header, ".e30."), keys_, options_).ok());
  EXPECT_FALSE(VerifyCompactJws(".e30.AAAA", keys_, options_).ok());
}

}  // namespace
}  // namespace basalt::jose
