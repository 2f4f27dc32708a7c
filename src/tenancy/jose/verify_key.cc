#include "tenancy/jose/verify_key.h"

#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <cstring>

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

bool IsPss(Alg alg) { return alg == Alg::kPS256 || alg == Alg::kPS384 || alg == Alg::kPS512; }

// The padding each RSA alg needs; RFC 7518 section 3.5 for PSS: MGF1 with the
// same hash, salt as long as the hash.
bool SetRsaPadding(EVP_PKEY_CTX* pctx, Alg alg, const EVP_MD* md) {
  if (IsPss(alg)) {
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, HashBytes(alg)) == 1;
  }
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
}

// EVP_DigestVerify, initialised on every call: EdDSA (no separate digest), and
// RSA/EC when no verifier template could be prepared. `signature` is what EVP
// expects (DER for ECDSA).
bool DigestVerify(const VerifyKey::Impl& key, Alg alg, std::string_view input,
                  std::string_view signature) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  const EVP_MD* md = alg == Alg::kEdDSA ? nullptr : Digest(alg);
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.pkey.get()) != 1) return false;
  if (key.family == KeyFamily::kRsa && !SetRsaPadding(pctx, alg, md)) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

// RSA and EC: hash the input with the pre-fetched digest, then verify the hash
// on a copy of the key's template context. Same checks as DigestVerify (the
// template carries the padding and the signature digest, so OpenSSL still
// builds and compares the DigestInfo / checks the hash length), at a fraction
// of the cost: no method fetch, no key export, no digest fetch per call.
bool PrehashVerify(const VerifyKey::Impl& key, Alg alg, std::string_view input,
                   std::string_view signature) {
  const EVP_PKEY_CTX* tmpl = key.verifiers[static_cast<size_t>(alg)].get();
  if (tmpl == nullptr) return DigestVerify(key, alg, input, signature);
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_len = 0;
  if (EVP_Digest(input.data(), input.size(), hash, &hash_len, Digest(alg), nullptr) != 1) {
    return false;
  }
  // EVP_PKEY_CTX_dup only reads its argument (it takes references to the key
  // and the method and duplicates the provider context), so concurrent verifies
  // may share one template.
  PkeyCtxPtr ctx(EVP_PKEY_CTX_dup(tmpl));
  if (!ctx) return false;
  return EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(), hash, hash_len) == 1;
}

// Ed25519 on a copy of the key's initialised EVP_MD_CTX (see ossl.h).
bool VerifyEddsa(const VerifyKey::Impl& key, Alg alg, std::string_view input,
                 std::string_view signature) {
  if (!key.eddsa_verifier) return DigestVerify(key, alg, input, signature);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  // EVP_MD_CTX_copy_ex only reads its source (it duplicates the provider
  // context), so concurrent verifies may share one template.
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), key.eddsa_verifier.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

// Appends a DER INTEGER holding the unsigned big-endian `bytes` (minimal: no
// leading zero bytes except one before a high bit).
void AppendDerInteger(const unsigned char* bytes, size_t n, unsigned char*& out) {
  while (n > 1 && bytes[0] == 0) {
    ++bytes;
    --n;
  }
  const bool pad = (bytes[0] & 0x80) != 0;
  *out++ = 0x02;
  *out++ = static_cast<unsigned char>(n + (pad ? 1 : 0));  // <= 67: short form
  if (pad) *out++ = 0x00;
  std::memcpy(out, bytes, n);
  out += n;
}

// 1 <= v <= order - 1, for big-endian values of the same length.
bool InRange(const unsigned char* v, const unsigned char* order, size_t n) {
  bool nonzero = false;
  for (size_t i = 0; i < n; ++i) nonzero |= v[i] != 0;
  return nonzero && std::memcmp(v, order, n) < 0;
}

// JWS ECDSA signatures are r||s, each exactly the coordinate size (RFC 7518
// section 3.4). Range-checked here, then re-encoded as the DER EVP expects.
bool VerifyEcdsa(const VerifyKey::Impl& key, Alg alg, std::string_view input,
                 std::string_view signature) {
  const size_t n = static_cast<size_t>(key.coordinate_bytes);
  if (n == 0 || n > static_cast<size_t>(kMaxCoordinateBytes) || signature.size() != 2 * n) {
    return false;
  }
  const auto* r = reinterpret_cast<const unsigned char*>(signature.data());
  const unsigned char* s = r + n;
  if (!InRange(r, key.order_bytes.data(), n) || !InRange(s, key.order_bytes.data(), n)) {
    return false;
  }
  // SEQUENCE { INTEGER r, INTEGER s }: at most 3 + 2 * (2 + 67) bytes.
  unsigned char body[2 * (2 + kMaxCoordinateBytes + 1)];
  unsigned char* end = body;
  AppendDerInteger(r, n, end);
  AppendDerInteger(s, n, end);
  const size_t body_len = static_cast<size_t>(end - body);
  unsigned char der[3 + sizeof(body)];
  size_t der_len = 0;
  der[der_len++] = 0x30;
  if (body_len >= 0x80) der[der_len++] = 0x81;  // P-521: long form, one length byte
  der[der_len++] = static_cast<unsigned char>(body_len);
  std::memcpy(der + der_len, body, body_len);
  der_len += body_len;
  return PrehashVerify(key, alg, input,
                       std::string_view(reinterpret_cast<const char*>(der), der_len));
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

void PrepareVerifiers(VerifyKey::Impl& key) {
  if (!key.pkey) return;
  if (key.family == KeyFamily::kOkp) {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    MdCtxPtr probe(EVP_MD_CTX_new());
    // Kept only if a copy of it can be made (so Verify never depends on a
    // template that cannot be copied).
    if (ctx && probe &&
        EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.pkey.get()) == 1 &&
        EVP_MD_CTX_copy_ex(probe.get(), ctx.get()) == 1) {
      key.eddsa_verifier = std::move(ctx);
    }
    ERR_clear_error();
    return;
  }
  if (key.family != KeyFamily::kRsa && key.family != KeyFamily::kEc) return;
  if (key.family == KeyFamily::kEc) {
    if (key.order == nullptr || key.coordinate_bytes <= 0 ||
        key.coordinate_bytes > kMaxCoordinateBytes ||
        BN_bn2binpad(key.order, key.order_bytes.data(), key.coordinate_bytes) !=
            key.coordinate_bytes) {
      key.coordinate_bytes = 0;  // VerifyEcdsa then refuses every signature
      return;
    }
  }
  for (size_t i = 0; i < kAlgCount; ++i) {
    const Alg alg = static_cast<Alg>(i);
    if (!key.algs.Contains(alg) || FamilyOf(alg) != key.family) continue;
    const EVP_MD* md = Digest(alg);
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey.get(), nullptr));
    if (!ctx || md == nullptr || EVP_PKEY_verify_init(ctx.get()) != 1 ||
        (key.family == KeyFamily::kRsa && !SetRsaPadding(ctx.get(), alg, md)) ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1) {
      ERR_clear_error();
      continue;  // left empty: Verify falls back to a per-call init
    }
    key.verifiers[i] = std::move(ctx);
  }
}

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
           PrehashVerify(key, alg, signing_input, signature);
      break;
    case KeyFamily::kEc:
      ok = VerifyEcdsa(key, alg, signing_input, signature);
      break;
    case KeyFamily::kOkp:
      ok = signature.size() == 64 && VerifyEddsa(key, alg, signing_input, signature);
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
