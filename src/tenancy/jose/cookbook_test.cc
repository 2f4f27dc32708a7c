// RFC 7520 section 4 (JOSE cookbook, ietf-jose/cookbook): every JWS example
// verifies in every serialization it gives (compact, general JSON, flattened
// JSON), with the key from the example reduced to its public half and the
// example's algorithm allowed. Detached content (4.5) passes the payload
// separately; 4.8 checks each of its three signatures with its own key.
#include <gtest/gtest.h>

#include "tenancy/jose/conformance.h"
#include "tenancy/jose/jws.h"
#include "tenancy/jose/key_set.h"
#include "tenancy/jose/verify_key.h"

namespace basalt::jose {
namespace {

using nlohmann::json;
using testing::LoadConformance;
using testing::PublicPart;

struct Example {
  const char* file;
  bool detached;
};

KeySet KeysFor(const json& jwk, Alg alg) {
  absl::StatusOr<VerifyKey> key = VerifyKey::FromJwk(PublicPart(jwk), {alg});
  EXPECT_TRUE(key.ok()) << key.status();
  KeySet keys;
  if (key.ok()) keys.Add(*key);
  return keys;
}

void ExpectVerifies(const json& example, const KeySet& keys, Alg alg, bool detached,
                    const std::string& name) {
  const std::string payload = example["input"]["payload"];
  std::optional<std::string_view> detached_payload;
  if (detached) detached_payload = payload;
  JwsOptions options{{alg}};
  const json& out = example["output"];
  int forms = 0;
  if (out.contains("compact")) {
    absl::StatusOr<VerifiedJws> r =
        VerifyCompactJws(out["compact"].get<std::string>(), keys, options, detached_payload);
    ASSERT_TRUE(r.ok()) << name << " compact: " << r.status();
    EXPECT_EQ(r->payload, payload);
    ++forms;
  }
  for (const char* form : {"json", "json_flat"}) {
    if (!out.contains(form)) continue;
    absl::StatusOr<VerifiedJws> r = VerifyJsonJws(out[form].dump(), keys, options, detached_payload);
    ASSERT_TRUE(r.ok()) << name << " " << form << ": " << r.status();
    EXPECT_EQ(r->payload, payload);
    ++forms;
  }
  EXPECT_GT(forms, 0) << name;
  // The same with one payload byte changed must fail.
  std::string altered = payload;
  altered[0] ^= 1;
  if (detached) {
    EXPECT_FALSE(VerifyCompactJws(out["compact"].get<std::string>(), keys, options, altered).ok());
  }
}

TEST(Cookbook, SingleSignatureExamples) {
  const Example examples[] = {
      {"4_1.rsa_v15_signature.json", false},
      {"4_2.rsa-pss_signature.json", false},
      {"4_3.ecdsa_signature.json", false},
      {"4_4.hmac-sha2_integrity_protection.json", false},
      {"4_5.signature_with_detached_content.json", true},
      {"4_6.protecting_specific_header_fields.json", false},
      {"4_7.protecting_content_only.json", false},
  };
  for (const Example& e : examples) {
    json example = LoadConformance(std::string("jose-cookbook/jws/") + e.file);
    ASSERT_TRUE(example.is_object()) << e.file;
    std::optional<Alg> alg = ParseAlg(example["input"]["alg"].get<std::string>());
    ASSERT_TRUE(alg.has_value()) << e.file;
    ExpectVerifies(example, KeysFor(example["input"]["key"], *alg), *alg, e.detached, e.file);
  }
}

TEST(Cookbook, MultipleSignaturesEachVerifyWithItsKey) {
  json example = LoadConformance("jose-cookbook/jws/4_8.multiple_signatures.json");
  ASSERT_TRUE(example.is_object());
  const json& keys = example["input"]["key"];
  const json& algs = example["input"]["alg"];
  const json& signatures = example["output"]["json"]["signatures"];
  ASSERT_EQ(keys.size(), 3u);
  ASSERT_EQ(signatures.size(), 3u);
  for (size_t i = 0; i < keys.size(); ++i) {
    Alg alg = *ParseAlg(algs[i].get<std::string>());
    KeySet set = KeysFor(keys[i], alg);
    // Whole document: succeeds through the one signature this key fits.
    absl::StatusOr<VerifiedJws> whole =
        VerifyJsonJws(example["output"]["json"].dump(), set, JwsOptions{{alg}});
    ASSERT_TRUE(whole.ok()) << algs[i] << ": " << whole.status();
    EXPECT_EQ(whole->alg, alg);
    // Only this signature, flattened.
    json flat = signatures[i];
    flat["payload"] = example["output"]["json"]["payload"];
    absl::StatusOr<VerifiedJws> single = VerifyJsonJws(flat.dump(), set, JwsOptions{{alg}});
    EXPECT_TRUE(single.ok()) << algs[i] << ": " << single.status();
  }
}

TEST(Cookbook, JwkFilesLoad) {
  // Section 3 keys: the public ones load as they are; the private ones load
  // once reduced to their public members, and are refused as they are.
  const char* public_files[] = {"3_1.ec_public_key.json", "3_3.rsa_public_key.json"};
  for (const char* f : public_files) {
    json jwk = LoadConformance(std::string("jose-cookbook/jwk/") + f);
    EXPECT_TRUE(VerifyKey::FromJwk(jwk, {Alg::kES512, Alg::kRS256}).ok()) << f;
  }
  const char* private_files[] = {"3_2.ec_private_key.json", "3_4.rsa_private_key.json"};
  for (const char* f : private_files) {
    json jwk = LoadConformance(std::string("jose-cookbook/jwk/") + f);
    EXPECT_FALSE(VerifyKey::FromJwk(jwk, {Alg::kES512, Alg::kRS256}).ok()) << f;
    EXPECT_TRUE(VerifyKey::FromJwk(PublicPart(jwk), {Alg::kES512, Alg::kRS256}).ok()) << f;
  }
  json mac = LoadConformance("jose-cookbook/jwk/3_5.symmetric_key_mac_computation.json");
  EXPECT_TRUE(VerifyKey::FromJwk(mac, {Alg::kHS256}).ok());
}

}  // namespace
}  // namespace basalt::jose
