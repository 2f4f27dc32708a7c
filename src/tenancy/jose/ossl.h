// Internal: owning handles for OpenSSL objects and the shared VerifyKey state.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tenancy/jose/alg.h"
#include "tenancy/jose/verify_key.h"

namespace basalt::jose {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

inline constexpr size_t kAlgCount = static_cast<size_t>(Alg::kHS512) + 1;
inline constexpr int kMaxCoordinateBytes = 66;  // P-521

struct VerifyKey::Impl {
  ~Impl() {
    if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  }
  KeyFamily family = KeyFamily::kOct;
  AlgSet algs;
  std::optional<std::string> kid;
  PkeyPtr pkey;                // RSA, EC, OKP
  const BIGNUM* order = nullptr;  // EC: the group order (static, never freed)
  int coordinate_bytes = 0;    // EC: 32, 48, 66
  std::string secret;          // oct
  // RSA and EC: one EVP_PKEY_CTX per admitted alg, initialised for verify with
  // its padding and digest (PrepareVerifiers). Never used directly: each verify
  // works on an EVP_PKEY_CTX_dup of it, which skips the provider fetches and
  // key export an init costs, so the templates are only read and may be shared
  // by threads. Empty when preparing failed; verify then initialises per call.
  std::array<PkeyCtxPtr, kAlgCount> verifiers;
  // OKP (EdDSA, no separate hash): the same idea one level up, an EVP_MD_CTX
  // after EVP_DigestVerifyInit; each verify works on an EVP_MD_CTX_copy_ex of it.
  MdCtxPtr eddsa_verifier;
  // EC: the group order, big-endian, coordinate_bytes long (range checks of r, s).
  std::array<unsigned char, kMaxCoordinateBytes> order_bytes{};
};

// Fills key.verifiers (and key.order_bytes) for every alg in key.algs. Called
// once the key is complete (pkey, family, algs); a failure leaves the slot empty.
void PrepareVerifiers(VerifyKey::Impl& key);

}  // namespace basalt::jose
