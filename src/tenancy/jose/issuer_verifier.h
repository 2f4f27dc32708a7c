// IssuerVerifier: JWT bearer tokens from one or more issuers. Each issuer has
// its policy (jwt.h), optional configured keys (HS256 secrets) and an optional
// JwksCache. A token's unverified "iss" picks the issuer; everything else is
// then checked against that issuer only (the "iss" check in VerifyJwt repeats
// the match after the signature verifies).
// Build it once, then Verify() from any thread; AddIssuer is not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "tenancy/jose/jwks_cache.h"
#include "tenancy/jose/jwt.h"
#include "tenancy/jose/key_set.h"

namespace basalt::jose {

struct Issuer {
  JwtPolicy policy;
  std::shared_ptr<const KeySet> configured;  // may be null
  std::shared_ptr<JwksCache> jwks;           // may be null
};

class IssuerVerifier {
 public:
  explicit IssuerVerifier(const Clock& clock) : clock_(clock) {}

  // FailedPrecondition for a bad policy, no key source, or an issuer added twice.
  absl::Status AddIssuer(Issuer issuer);

  // Unauthenticated("issuer not accepted") for an unknown "iss"; otherwise as
  // VerifyJwtWithCache / VerifyJwt.
  boost::asio::awaitable<absl::StatusOr<VerifiedJwt>> Verify(std::string token) const;

 private:
  const Clock& clock_;
  std::map<std::string, Issuer, std::less<>> issuers_;
  size_t max_token_bytes_ = 0;  // the largest policy limit, for PeekIssuer
};

}  // namespace basalt::jose
