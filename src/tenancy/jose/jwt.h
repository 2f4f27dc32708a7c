// JWT bearer-token verification (RFC 7519) following the JWT BCP (RFC 8725).
//
// VerifyJwt checks, in this order:
//   1. size: a token over policy.max_token_bytes is refused before any parsing;
//   2. the compact JWS (jws.h): strict base64url and JSON, header rules, alg in
//      policy.algorithms (itself limited to kJwtAlgs), the key from `keys`
//      bound to that alg, the signature; "b64": false is refused;
//   3. header "typ", when present: JWT, at+jwt or application/at+jwt (any
//      case); "cty": "JWT" (a nested token) is refused;
//   4. claims: a JSON object without duplicate names; "exp" required; "exp",
//      "nbf", "iat" numbers; now < exp + leeway; nbf <= now + leeway;
//      iat <= now + leeway; "iss" equal to policy.issuer; "aud" a string or
//      array of strings with at least one in policy.audiences.
// Claims are looked at only after the signature verifies.
//
// Errors: Unauthenticated with a reason that names the failed check, never
// what part of a secret matched ("signature does not verify", "token expired",
// "audience not accepted", ...). NotFound("no key for kid ...") when no key
// fits: refresh the JWKS and retry (VerifyJwtWithCache in jwks_cache.h does),
// then treat it as Unauthenticated. FailedPrecondition for a bad policy.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tenancy/jose/alg.h"
#include "tenancy/jose/key_set.h"

namespace basalt::jose {

struct JwtPolicy {
  std::string issuer;                  // required; exact match with "iss"
  std::vector<std::string> audiences;  // required; one must appear in "aud"
  std::vector<Alg> algorithms;         // required; a subset of kJwtAlgs
  std::chrono::seconds leeway{60};     // clock skew allowed for exp/nbf/iat
  size_t max_token_bytes = 8192;
};

struct VerifiedJwt {
  nlohmann::json header;
  nlohmann::json claims;
  Alg alg = Alg::kHS256;
  std::string kid;  // empty when the token had none
};

// FailedPrecondition naming the problem, or OK.
absl::Status ValidatePolicy(const JwtPolicy& policy);

absl::StatusOr<VerifiedJwt> VerifyJwt(std::string_view token, const KeySet& keys,
                                      const JwtPolicy& policy, int64_t now_unix_seconds);

// The "iss" claim of a token whose signature has NOT been checked, to choose
// the issuer's keys (issuer_verifier.h). Size-limited and strict like
// VerifyJwt; Unauthenticated when the token cannot carry an issuer.
absl::StatusOr<std::string> PeekIssuer(std::string_view token, size_t max_token_bytes);

}  // namespace basalt::jose
