// Internal: owning handles for OpenSSL objects and the shared VerifyKey state.
#pragma once

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
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

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
};

}  // namespace basalt::jose
