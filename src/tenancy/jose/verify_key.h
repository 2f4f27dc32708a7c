// VerifyKey: one public key (or HMAC secret) and the algorithms it may verify.
// The algorithm set is fixed when the key is made, from the key itself and
// the caller's allowed list, never from a token:
//   - a JWK with "alg" admits exactly that alg (and only if the caller allows it);
//   - a JWK without "alg" admits the caller's allowed algs of its family:
//     RSA -> RS*/PS*, EC -> the one ES* of its curve, OKP Ed25519 -> EdDSA,
//     oct -> HS* whose hash is no longer than the key;
//   - an HMAC secret never verifies RS/PS/ES/EdDSA, and an RSA/EC/OKP key is
//     never used as an HMAC secret (no RS/HS confusion by construction).
// Immutable after construction; copies share the OpenSSL key; safe to use from
// many threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tenancy/jose/alg.h"

namespace basalt::jose {

class VerifyKey {
 public:
  // Builds a key from one JWK (RFC 7517/7518/8037). Errors:
  //   InvalidArgument   malformed member (bad base64url, wrong length, point not on
  //                     the curve, RSA modulus < 2048 bits or > 16384, even or tiny
  //                     exponent, ROCA-weak modulus, private members present);
  //   Unimplemented     unsupported kty or curve (callers skip such keys);
  //   FailedPrecondition "use" is not "sig", "key_ops" lacks "verify", or no
  //                     allowed algorithm remains for the key.
  // "ES521" as a JWK "alg" is read as ES512 (a misspelling found in published
  // key sets, Wycheproof's among them); token headers get no such leniency.
  static absl::StatusOr<VerifyKey> FromJwk(const nlohmann::json& jwk, AlgSet allowed);

  // A configured HMAC secret. InvalidArgument if `alg` is not HS* or the secret is
  // shorter than the hash (RFC 7518 section 3.2). `kid` may be empty (no kid).
  static absl::StatusOr<VerifyKey> Hmac(std::string secret, std::string kid,
                                        Alg alg = Alg::kHS256);

  // OK when `signature` is a valid `alg` signature of `signing_input` under this
  // key. Unauthenticated("signature does not verify") otherwise, including a
  // wrong length, ECDSA r or s outside [1, n-1], and an `alg` the key does not
  // admit.
  absl::Status Verify(Alg alg, std::string_view signing_input, std::string_view signature) const;

  const std::optional<std::string>& kid() const;
  AlgSet algs() const;
  KeyFamily family() const;

  struct Impl;  // verify_key.cc; built by jwk.cc
  explicit VerifyKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace basalt::jose
