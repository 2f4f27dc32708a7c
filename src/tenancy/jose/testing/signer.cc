#include "tenancy/jose/testing/signer.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>

#include "core/strings.h"
#include "tenancy/jose/base64url.h"

namespace basalt::jose::testing {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "signer: %s failed\n", what);
  std::abort();
}

const char* DigestName(Alg alg) {
  switch (HashBytes(alg)) {
    case 32: return "SHA256";
    case 48: return "SHA384";
    case 64: return "SHA512";
    default: return nullptr;
  }
}

int CoordinateBytes(Alg alg) { return alg == Alg::kES256 ? 32 : alg == Alg::kES384 ? 48 : 66; }

std::string BnBytes(EVP_PKEY* pkey, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) Die("get_bn_param");
  int len = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<size_t>(len), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len);
  BN_free(bn);
  return out;
}

}  // namespace

struct TestKey::Pkey {
  ~Pkey() { EVP_PKEY_free(pkey); }
  EVP_PKEY* pkey = nullptr;
  KeyFamily family = KeyFamily::kRsa;
  int coordinate_bytes = 0;
};

TestKey TestKey::Generate(Alg alg) {
  TestKey key;
  if (FamilyOf(alg) == KeyFamily::kOct) {
    key.secret_.resize(static_cast<size_t>(HashBytes(alg)));
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.secret_.data()),
                   static_cast<int>(key.secret_.size())) != 1) {
      Die("RAND_bytes");
    }
    return key;
  }
  key.pkey_ = std::make_shared<Pkey>();
  key.pkey_->family = FamilyOf(alg);
  switch (FamilyOf(alg)) {
    case KeyFamily::kRsa:
      key.pkey_->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
      break;
    case KeyFamily::kEc: {
      const char* curve = alg == Alg::kES256 ? "P-256" : alg == Alg::kES384 ? "P-384" : "P-521";
      key.pkey_->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
      key.pkey_->coordinate_bytes = CoordinateBytes(alg);
      break;
    }
    default:
      key.pkey_->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (key.pkey_->pkey == nullptr) Die("keygen");
  return key;
}

TestKey TestKey::Hmac(std::string secret) {
  TestKey key;
  key.secret_ = std::move(secret);
  return key;
}

nlohmann::json TestKey::Jwk(std::string_view kid, std::string_view alg) const {
  nlohmann::json jwk;
  if (!pkey_) {
    jwk = {{"kty", "oct"}, {"k", Base64UrlEncode(secret_)}};
  } else if (pkey_->family == KeyFamily::kRsa) {
    jwk = {{"kty", "RSA"},
           {"n", Base64UrlEncode(BnBytes(pkey_->pkey, OSSL_PKEY_PARAM_RSA_N, 0))},
           {"e", Base64UrlEncode(BnBytes(pkey_->pkey, OSSL_PKEY_PARAM_RSA_E, 0))}};
  } else if (pkey_->family == KeyFamily::kEc) {
    int n = pkey_->coordinate_bytes;
    const char* crv = n == 32 ? "P-256" : n == 48 ? "P-384" : "P-521";
    jwk = {{"kty", "EC"},
           {"crv", crv},
           {"x", Base64UrlEncode(BnBytes(pkey_->pkey, OSSL_PKEY_PARAM_EC_PUB_X, n))},
           {"y", Base64UrlEncode(BnBytes(pkey_->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, n))}};
  } else {
    std::string raw(32, '\0');
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(pkey_->pkey, reinterpret_cast<unsigned char*>(raw.data()),
                                    &len) != 1) {
      Die("get_raw_public_key");
    }
    jwk = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", Base64UrlEncode(raw)}};
  }
  if (!kid.empty()) jwk["kid"] = std::string(kid);
  if (!alg.empty()) jwk["alg"] = std::string(alg);
  return jwk;
}

std::string TestKey::SignDer(Alg alg, std::string_view input) const {
  if (!pkey_) Die("SignDer on an HMAC key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  const char* md = alg == Alg::kEdDSA ? nullptr : DigestName(alg);
  if (EVP_DigestSignInit_ex(ctx, &pctx, md, nullptr, nullptr, pkey_->pkey, nullptr) != 1) {
    Die("DigestSignInit");
  }
  if (alg == Alg::kPS256 || alg == Alg::kPS384 || alg == Alg::kPS512) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, HashBytes(alg));
  }
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx, nullptr, &len, in, input.size()) != 1) Die("DigestSign size");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) != 1) {
    Die("DigestSign");
  }
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

std::string TestKey::Sign(Alg alg, std::string_view input) const {
  if (FamilyOf(alg) == KeyFamily::kOct) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const EVP_MD* md = HashBytes(alg) == 32 ? EVP_sha256() : HashBytes(alg) == 48 ? EVP_sha384() : EVP_sha512();
    HMAC(md, secret_.data(), static_cast<int>(secret_.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    return std::string(reinterpret_cast<char*>(mac), len);
  }
  std::string sig = SignDer(alg, input);
  if (FamilyOf(alg) != KeyFamily::kEc) return sig;
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (ecdsa == nullptr) Die("d2i_ECDSA_SIG");
  int n = CoordinateBytes(alg);
  std::string out(static_cast<size_t>(2 * n), '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char*>(out.data()), n);
  BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char*>(out.data()) + n, n);
  ECDSA_SIG_free(ecdsa);
  return out;
}

std::string TestKey::PublicPem() const {
  if (!pkey_) Die("PublicPem on an HMAC key");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, pkey_->pkey);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

std::string MakeJwsFromText(std::string_view header_text, std::string_view payload,
                            const TestKey& key, Alg alg) {
  std::string input = StrCat(Base64UrlEncode(header_text), ".", Base64UrlEncode(payload));
  return StrCat(input, ".", Base64UrlEncode(key.Sign(alg, input)));
}

std::string MakeJws(const nlohmann::json& header, std::string_view payload, const TestKey& key,
                    Alg alg) {
  return MakeJwsFromText(header.dump(), payload, key, alg);
}

}  // namespace basalt::jose::testing
