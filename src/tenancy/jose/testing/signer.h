// Test-only signing: generated keys, JWS/JWT assembly. Linked by jose_test and
// jwt_verify_bench, never by the server.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tenancy/jose/alg.h"

namespace basalt::jose::testing {

class TestKey {
 public:
  // RSA 2048 for RS*/PS*, P-256/384/521 for ES*, Ed25519, or 32..64 random
  // bytes for HS*. Aborts on an OpenSSL failure (tests only).
  static TestKey Generate(Alg alg);
  static TestKey Hmac(std::string secret);

  // The public JWK (for oct: the secret). `alg` is included when non-empty.
  nlohmann::json Jwk(std::string_view kid, std::string_view alg = "") const;
  // JWS signature bytes: P1363 r||s for ECDSA.
  std::string Sign(Alg alg, std::string_view input) const;
  // ECDSA only: the DER form EVP produces (to check it is refused).
  std::string SignDer(Alg alg, std::string_view input) const;
  // SubjectPublicKeyInfo PEM of an asymmetric key (the RS/HS confusion secret).
  std::string PublicPem() const;
  const std::string& secret() const { return secret_; }

 private:
  struct Pkey;
  std::shared_ptr<Pkey> pkey_;
  std::string secret_;
};

// "b64(header).b64(payload).b64(signature)", signed with `key` under `alg`
// (the header is used as given; it need not name `alg`).
std::string MakeJws(const nlohmann::json& header, std::string_view payload, const TestKey& key,
                    Alg alg);
// The same from already-encoded header text.
std::string MakeJwsFromText(std::string_view header_text, std::string_view payload,
                            const TestKey& key, Alg alg);

}  // namespace basalt::jose::testing
