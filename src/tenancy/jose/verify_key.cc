#include "tenancy/jose/verify_key.h"

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "core/strings.h"
#include "tenancy/jose/ossl.h"

namespace basalt::jose {
namespace {

absl::Status BadSignature() { return absl::UnauthenticatedError("signature does not verify"); }

const EVP_MD* Digest(Alg alg) {
  // Fetched once: an implicit fetch on every verify costs a store lookup.
  static EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_MD* sha384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static EVP_MD* sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  switch (HashBytes(alg)) {
    case 32: return sha256;
    case 48: return sha384;
    case 64: return sha512;
    default: return nullptr;
  }
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

bool IsPss(Alg alg) { return alg == Alg::kPS256 || alg == Alg::kPS384 || alg == Alg::kPS512; }

// EVP_DigestVerify with the padding each RSA alg needs. `signature` is what
// EVP expects (DER for ECDSA).
bool DigestVerify(const VerifyKey::Impl& key, Alg alg, std::string_view input,
                  std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  const EVP_MD* md = alg == Alg::kEdDSA ? nullptr : Digest(alg);
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.pkey.get()) != 1) return false;
  if (key.family == KeyFamily::kRsa) {
    if (IsPss(alg)) {
      // RFC 7518 section 3.5: MGF1 with the same hash, salt as long as the hash.
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, HashBytes(alg)) != 1) {
        return false;
      }
    } else if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
      return false;
    }
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

// JWS ECDSA signatures are r||s, each exactly the coordinate size (RFC 7518
// section 3.4). Range-checked here, then re-encoded as the DER EVP expects.
bool VerifyEcdsa(const VerifyKey::Impl& key, Alg alg, std::string_view input,
                 std::string_view signature) {
  const int n = key.coordinate_bytes;
  if (signature.size() != static_cast<size_t>(2 * n)) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(signature.data());
  BnPtr r(BN_bin2bn(bytes, n, nullptr));
  BnPtr s(BN_bin2bn(bytes + n, n, nullptr));
  if (!r || !s) return false;
  if (BN_is_zero(r.get()) || BN_is_zero(s.get()) || BN_cmp(r.get(), key.order) >= 0 ||
      BN_cmp(s.get(), key.order) >= 0) {
    return false;
  }
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (!sig) return false;
  ECDSA_SIG_set0(sig, r.release(), s.release());  // sig owns r and s now
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (der_len <= 0) return false;
  bool ok = DigestVerify(key, alg, input,
                         std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(der_len)));
  OPENSSL_free(der);
  return ok;
}

bool VerifyHmac(const VerifyKey::Impl& key, Alg alg, std::string_view input,
                std::string_view signature) {
  if (signature.size() != static_cast<size_t>(HashBytes(alg))) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(Digest(alg), key.secret.data(), static_cast<int>(key.secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
           &mac_len) == nullptr ||
      mac_len != signature.size()) {
    return false;
  }
  bool equal = CRYPTO_memcmp(mac, signature.data(), mac_len) == 0;
  OPENSSL_cleanse(mac, sizeof(mac));
  return equal;
}

}  // namespace

absl::StatusOr<VerifyKey> VerifyKey::Hmac(std::string secret, std::string kid, Alg alg) {
  if (FamilyOf(alg) != KeyFamily::kOct) {
    OPENSSL_cleanse(secret.data(), secret.size());
    return absl::InvalidArgumentError(StrCat("an HMAC secret cannot be used for ", AlgName(alg)));
  }
  if (secret.size() < static_cast<size_t>(HashBytes(alg))) {
    OPENSSL_cleanse(secret.data(), secret.size());
    return absl::InvalidArgumentError(
        StrCat(AlgName(alg), " needs a secret of at least ", HashBytes(alg), " bytes"));
  }
  auto impl = std::make_shared<Impl>();
  impl->family = KeyFamily::kOct;
  impl->algs = AlgSet{alg};
  if (!kid.empty()) impl->kid = std::move(kid);
  impl->secret = std::move(secret);
  return VerifyKey(std::move(impl));
}

absl::Status VerifyKey::Verify(Alg alg, std::string_view signing_input,
                               std::string_view signature) const {
  const Impl& key = *impl_;
  // The family check repeats what algs() already implies; it is the one line
  // that makes RS/HS confusion impossible, so it stays explicit.
  if (!key.algs.Contains(alg) || FamilyOf(alg) != key.family) return BadSignature();
  bool ok = false;
  switch (key.family) {
    case KeyFamily::kRsa:
      // EVP also checks this; checking first keeps short or padded inputs out.
      ok = signature.size() == static_cast<size_t>(EVP_PKEY_get_size(key.pkey.get())) &&
           DigestVerify(key, alg, signing_input, signature);
      break;
    case KeyFamily::kEc:
      ok = VerifyEcdsa(key, alg, signing_input, signature);
      break;
    case KeyFamily::kOkp:
      ok = signature.size() == 64 && DigestVerify(key, alg, signing_input, signature);
      break;
    case KeyFamily::kOct:
      ok = VerifyHmac(key, alg, signing_input, signature);
      break;
  }
  if (ok) return absl::OkStatus();
  ERR_clear_error();  // a failed verify leaves entries on this thread's queue
  return BadSignature();
}

const std::optional<std::string>& VerifyKey::kid() const { return impl_->kid; }
AlgSet VerifyKey::algs() const { return impl_->algs; }
KeyFamily VerifyKey::family() const { return impl_->family; }

}  // namespace basalt::jose
