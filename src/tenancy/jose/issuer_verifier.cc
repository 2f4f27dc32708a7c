#include "tenancy/jose/issuer_verifier.h"

#include <algorithm>

#include "core/strings.h"

namespace basalt::jose {

absl::Status IssuerVerifier::AddIssuer(Issuer issuer) {
  if (absl::Status s = ValidatePolicy(issuer.policy); !s.ok()) return s;
  if (!issuer.configured && !issuer.jwks) {
    return absl::FailedPreconditionError(
        StrCat("issuer ", issuer.policy.issuer, ": no keys (JWKS or secret)"));
  }
  std::string name = issuer.policy.issuer;
  if (issuers_.count(name) != 0) {
    return absl::FailedPreconditionError(StrCat("issuer ", name, " is configured twice"));
  }
  max_token_bytes_ = std::max(max_token_bytes_, issuer.policy.max_token_bytes);
  issuers_.emplace(std::move(name), std::move(issuer));
  return absl::OkStatus();
}

boost::asio::awaitable<absl::StatusOr<VerifiedJwt>> IssuerVerifier::Verify(std::string token) const {
  absl::StatusOr<std::string> iss = PeekIssuer(token, max_token_bytes_);
  if (!iss.ok()) co_return iss.status();
  auto it = issuers_.find(*iss);
  if (it == issuers_.end()) co_return absl::UnauthenticatedError("issuer not accepted");
  const Issuer& issuer = it->second;
  if (issuer.jwks) {
    // Named before co_await (g++ 12 pitfall with owning temporaries, src/README.md).
    auto verify = VerifyJwtWithCache(std::move(token), *issuer.jwks, issuer.configured,
                                     issuer.policy, clock_);
    absl::StatusOr<VerifiedJwt> result = co_await std::move(verify);
    co_return result;
  }
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  absl::StatusOr<VerifiedJwt> result = VerifyJwt(token, *issuer.configured, issuer.policy, now);
  if (result.status().code() == absl::StatusCode::kNotFound) {
    co_return absl::UnauthenticatedError(result.status().message());
  }
  co_return result;
}

}  // namespace basalt::jose
