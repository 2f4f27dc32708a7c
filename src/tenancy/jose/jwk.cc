// VerifyKey::FromJwk: JWK members -> an OpenSSL public key, with the checks
// listed in verify_key.h.
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <array>
#include <cstdint>

#include "core/strings.h"
#include "tenancy/jose/base64url.h"
#include "tenancy/jose/ossl.h"
#include "tenancy/jose/verify_key.h"

namespace basalt::jose {
namespace {

using nlohmann::json;

struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;  // verify cost grows with the modulus; bound it

absl::Status Malformed(std::string_view why) {
  ERR_clear_error();
  return absl::InvalidArgumentError(StrCat("JWK: ", why));
}

// A required base64url member.
absl::StatusOr<std::string> Member(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return Malformed(StrCat("\"", name, "\" is missing or not a string"));
  }
  return Base64UrlDecode(it->get_ref<const std::string&>(), StrCat("JWK \"", name, "\""));
}

PkeyPtr FromData(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return PkeyPtr(pkey);
}

bool PublicCheck(EVP_PKEY* pkey) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  return ctx && EVP_PKEY_public_check(ctx.get()) == 1;
}

// ROCA (CVE-2017-15361): moduli from the flawed Infineon generator are
// 65537^a mod M for a primorial M, so n mod p lies in the subgroup that 65537
// generates mod p for every small prime p. A random modulus fails that for some p.
bool LooksLikeRoca(const BIGNUM* n) {
  static constexpr std::array<int, 38> kPrimes = {
      3,  5,  7,  11, 13, 17, 19, 23, 29, 31,  37,  41,  43,  47,  53,  59,  61,  67,  71,
      73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
  for (int p : kPrimes) {
    BN_ULONG residue = BN_mod_word(n, static_cast<BN_ULONG>(p));
    if (residue == static_cast<BN_ULONG>(-1)) return false;
    const int g = 65537 % p;
    bool in_subgroup = false;
    int x = 1;
    do {
      if (static_cast<BN_ULONG>(x) == residue) in_subgroup = true;
      x = (x * g) % p;
    } while (x != 1 && !in_subgroup);
    if (!in_subgroup) return false;
  }
  return true;
}

std::string_view StripLeadingZeros(std::string_view bytes) {
  while (!bytes.empty() && bytes.front() == '\0') bytes.remove_prefix(1);
  return bytes;
}

absl::Status BuildRsa(const json& jwk, VerifyKey::Impl& key) {
  absl::StatusOr<std::string> n = Member(jwk, "n");
  if (!n.ok()) return n.status();
  absl::StatusOr<std::string> e = Member(jwk, "e");
  if (!e.ok()) return e.status();
  std::string_view n_bytes = StripLeadingZeros(*n), e_bytes = StripLeadingZeros(*e);
  const auto* nb = reinterpret_cast<const unsigned char*>(n_bytes.data());
  const auto* eb = reinterpret_cast<const unsigned char*>(e_bytes.data());
  BnPtr n_bn(BN_bin2bn(nb, static_cast<int>(n_bytes.size()), nullptr));
  BnPtr e_bn(BN_bin2bn(eb, static_cast<int>(e_bytes.size()), nullptr));
  if (!n_bn || !e_bn) return Malformed("RSA parameters");
  int bits = BN_num_bits(n_bn.get());
  if (bits < kMinRsaBits) return Malformed(StrCat("RSA modulus of ", bits, " bits is under 2048"));
  if (bits > kMaxRsaBits) return Malformed(StrCat("RSA modulus of ", bits, " bits is too large"));
  if (!BN_is_odd(n_bn.get())) return Malformed("RSA modulus is even");
  if (e_bytes.size() > 8 || !BN_is_odd(e_bn.get()) || BN_cmp(e_bn.get(), BN_value_one()) <= 0) {
    return Malformed("RSA exponent must be odd, at least 3 and at most 64 bits");
  }
  if (LooksLikeRoca(n_bn.get())) return Malformed("RSA modulus has the ROCA weakness");
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    return Malformed("RSA parameters");
  }
  key.pkey = FromData("RSA", bld.get());
  if (!key.pkey) return Malformed("RSA key rejected by OpenSSL");
  return absl::OkStatus();
}

struct Curve {
  std::string_view crv;
  const char* group;
  int nid;
  int bytes;
  Alg alg;
};
constexpr std::array<Curve, 3> kCurves = {{
    {"P-256", "prime256v1", NID_X9_62_prime256v1, 32, Alg::kES256},
    {"P-384", "secp384r1", NID_secp384r1, 48, Alg::kES384},
    {"P-521", "secp521r1", NID_secp521r1, 66, Alg::kES512},
}};

const BIGNUM* GroupOrder(int nid) {
  // One group per curve for the life of the process; the orders are read-only.
  static const std::array<EC_GROUP*, 3> groups = {EC_GROUP_new_by_curve_name(kCurves[0].nid),
                                                  EC_GROUP_new_by_curve_name(kCurves[1].nid),
                                                  EC_GROUP_new_by_curve_name(kCurves[2].nid)};
  for (size_t i = 0; i < kCurves.size(); ++i) {
    if (kCurves[i].nid == nid && groups[i] != nullptr) return EC_GROUP_get0_order(groups[i]);
  }
  return nullptr;
}

absl::StatusOr<const Curve*> BuildEc(const json& jwk, VerifyKey::Impl& key) {
  auto crv_it = jwk.find("crv");
  if (crv_it == jwk.end() || !crv_it->is_string()) return Malformed("\"crv\" is missing");
  const Curve* curve = nullptr;
  for (const Curve& c : kCurves) {
    if (c.crv == crv_it->get_ref<const std::string&>()) curve = &c;
  }
  if (curve == nullptr) {
    return absl::UnimplementedError(
        StrCat("JWK: unsupported EC curve ", crv_it->get_ref<const std::string&>()));
  }
  absl::StatusOr<std::string> x = Member(jwk, "x");
  if (!x.ok()) return x.status();
  absl::StatusOr<std::string> y = Member(jwk, "y");
  if (!y.ok()) return y.status();
  // RFC 7518 section 6.2.1.2: each coordinate is exactly the field size.
  if (x->size() != static_cast<size_t>(curve->bytes) ||
      y->size() != static_cast<size_t>(curve->bytes)) {
    return Malformed(StrCat("EC coordinates must be ", curve->bytes, " bytes for ", curve->crv));
  }
  std::string point = StrCat(std::string_view("\x04", 1), *x, *y);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve->group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Malformed("EC parameters");
  }
  key.pkey = FromData("EC", bld.get());
  if (!key.pkey || !PublicCheck(key.pkey.get())) return Malformed("EC point is not on the curve");
  key.order = GroupOrder(curve->nid);
  if (key.order == nullptr) return Malformed("EC group unavailable");
  key.coordinate_bytes = curve->bytes;
  return curve;
}

absl::Status BuildOkp(const json& jwk, VerifyKey::Impl& key) {
  auto crv_it = jwk.find("crv");
  if (crv_it == jwk.end() || !crv_it->is_string()) return Malformed("\"crv\" is missing");
  if (crv_it->get_ref<const std::string&>() != "Ed25519") {
    return absl::UnimplementedError(
        StrCat("JWK: unsupported OKP curve ", crv_it->get_ref<const std::string&>()));
  }
  absl::StatusOr<std::string> x = Member(jwk, "x");
  if (!x.ok()) return x.status();
  if (x->size() != 32) return Malformed("Ed25519 \"x\" must be 32 bytes");
  key.pkey.reset(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size()));
  if (!key.pkey) return Malformed("Ed25519 key rejected by OpenSSL");
  return absl::OkStatus();
}

// Members that only a private JWK has (RFC 7518 sections 6.2.2, 6.3.2; RFC 8037).
bool HasPrivateMembers(const json& jwk) {
  for (const char* name : {"d", "p", "q", "dp", "dq", "qi", "oth"}) {
    if (jwk.contains(name)) return true;
  }
  return false;
}

absl::Status CheckUse(const json& jwk) {
  if (auto it = jwk.find("use"); it != jwk.end()) {
    if (!it->is_string()) return Malformed("\"use\" is not a string");
    if (*it != "sig") return absl::FailedPreconditionError("JWK: \"use\" is not \"sig\"");
  }
  if (auto it = jwk.find("key_ops"); it != jwk.end()) {
    if (!it->is_array()) return Malformed("\"key_ops\" is not an array");
    bool verify = false;
    for (const json& op : *it) {
      if (!op.is_string()) return Malformed("\"key_ops\" holds a non-string");
      if (op == "verify") verify = true;
    }
    if (!verify) return absl::FailedPreconditionError("JWK: \"key_ops\" does not include \"verify\"");
  }
  return absl::OkStatus();
}

AlgSet FamilyAlgs(KeyFamily family) {
  switch (family) {
    case KeyFamily::kRsa:
      return {Alg::kRS256, Alg::kRS384, Alg::kRS512, Alg::kPS256, Alg::kPS384, Alg::kPS512};
    case KeyFamily::kEc: return {Alg::kES256, Alg::kES384, Alg::kES512};
    case KeyFamily::kOkp: return {Alg::kEdDSA};
    case KeyFamily::kOct: return {Alg::kHS256, Alg::kHS384, Alg::kHS512};
  }
  return {};
}

}  // namespace

absl::StatusOr<VerifyKey> VerifyKey::FromJwk(const json& jwk, AlgSet allowed) {
  if (!jwk.is_object()) return Malformed("not a JSON object");
  auto kty_it = jwk.find("kty");
  if (kty_it == jwk.end() || !kty_it->is_string()) return Malformed("\"kty\" is missing");
  const std::string& kty = kty_it->get_ref<const std::string&>();
  auto impl = std::make_shared<Impl>();
  if (kty == "RSA") impl->family = KeyFamily::kRsa;
  else if (kty == "EC") impl->family = KeyFamily::kEc;
  else if (kty == "OKP") impl->family = KeyFamily::kOkp;
  else if (kty == "oct") impl->family = KeyFamily::kOct;
  else return absl::UnimplementedError(StrCat("JWK: unsupported kty ", kty));

  if (absl::Status s = CheckUse(jwk); !s.ok()) return s;
  if (auto it = jwk.find("kid"); it != jwk.end()) {
    if (!it->is_string()) return Malformed("\"kid\" is not a string");
    impl->kid = it->get<std::string>();
  }
  std::optional<Alg> declared;
  if (auto it = jwk.find("alg"); it != jwk.end()) {
    if (!it->is_string()) return Malformed("\"alg\" is not a string");
    const std::string& name = it->get_ref<const std::string&>();
    declared = name == "ES521" ? std::optional<Alg>(Alg::kES512) : ParseAlg(name);
    if (!declared) return absl::UnimplementedError(StrCat("JWK: unsupported alg ", name));
    if (FamilyOf(*declared) != impl->family) {
      return Malformed(StrCat("alg ", name, " does not fit kty ", kty));
    }
  }
  if (impl->family != KeyFamily::kOct && HasPrivateMembers(jwk)) {
    return Malformed("holds private key material; publish only public keys");
  }

  AlgSet algs = declared ? AlgSet{*declared} : FamilyAlgs(impl->family);
  switch (impl->family) {
    case KeyFamily::kRsa:
      if (absl::Status s = BuildRsa(jwk, *impl); !s.ok()) return s;
      break;
    case KeyFamily::kEc: {
      absl::StatusOr<const Curve*> curve = BuildEc(jwk, *impl);
      if (!curve.ok()) return curve.status();
      if (declared && *declared != (*curve)->alg) {
        return Malformed(StrCat("alg ", AlgName(*declared), " does not fit curve ", (*curve)->crv));
      }
      algs = AlgSet{(*curve)->alg};
      break;
    }
    case KeyFamily::kOkp:
      if (absl::Status s = BuildOkp(jwk, *impl); !s.ok()) return s;
      break;
    case KeyFamily::kOct: {
      absl::StatusOr<std::string> k = Member(jwk, "k");
      if (!k.ok()) return k.status();
      impl->secret = std::move(*k);
      AlgSet long_enough;
      for (Alg a : {Alg::kHS256, Alg::kHS384, Alg::kHS512}) {
        if (algs.Contains(a) && impl->secret.size() >= static_cast<size_t>(HashBytes(a))) {
          long_enough.Add(a);
        }
      }
      if (long_enough.empty()) return Malformed("HMAC key is shorter than its hash");
      algs = long_enough;
      break;
    }
  }
  impl->algs = algs.Intersect(allowed);
  if (impl->algs.empty()) {
    return absl::FailedPreconditionError("JWK: none of the allowed algorithms fits this key");
  }
  PrepareVerifiers(*impl);
  return VerifyKey(std::move(impl));
}

}  // namespace basalt::jose
