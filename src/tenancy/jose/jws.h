// General JWS verification (RFC 7515): compact and JSON serialization
// (general and flattened), detached payloads, RFC 7797 unencoded payloads
// when allowed. The JWT path (jwt.h) is built on VerifyCompactJws.
//
// Header rules (RFC 7515, RFC 8725):
//   - "alg" is required, must be one the caller allows and one the key admits;
//     "none" in any case is refused;
//   - "jku", "x5u", "x5c" and "jwk" are refused: keys come only from the
//     KeySet, never from the token, and nothing is fetched;
//   - "crit" must be in the protected header, a non-empty array of strings,
//     each naming a present protected member we understand (only "b64");
//   - "b64" must be boolean and listed in "crit"; false only when
//     JwsOptions::allow_unencoded_payload;
//   - "kid", when present, is a string;
//   - protected and unprotected headers must not share a member name.
// Every segment must be strict base64url (base64url.h), JSON strict
// (strict_json.h), headers objects.
//
// Errors: Unauthenticated with the reason, except NotFound when no key in the
// set fits the kid and alg (see KeySet::Find), so callers can refresh keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "tenancy/jose/alg.h"
#include "tenancy/jose/key_set.h"

namespace basalt::jose {

struct JwsOptions {
  AlgSet algorithms;                     // algorithms the caller accepts
  bool allow_unencoded_payload = false;  // RFC 7797 "b64": false
};

struct VerifiedJws {
  nlohmann::json header;  // protected and unprotected members together
  std::string payload;    // decoded payload (the detached one when given)
  Alg alg = Alg::kHS256;
  std::optional<std::string> kid;
};

// `jws` is "header.payload.signature". With `detached_payload`, the payload
// segment must be empty and the given bytes are what was signed (RFC 7515
// appendix F).
absl::StatusOr<VerifiedJws> VerifyCompactJws(
    std::string_view jws, const KeySet& keys, const JwsOptions& options,
    std::optional<std::string_view> detached_payload = std::nullopt);

// JSON serialization. Succeeds with the first signature that verifies (the
// others are not checked); fails with the first non-NotFound error, or
// NotFound when no signature had a key.
absl::StatusOr<VerifiedJws> VerifyJsonJws(
    std::string_view json_text, const KeySet& keys, const JwsOptions& options,
    std::optional<std::string_view> detached_payload = std::nullopt);

}  // namespace basalt::jose
