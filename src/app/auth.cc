#include "app/auth.h"

#include <openssl/crypto.h>

#include "core/strings.h"

namespace basalt::app {

StaticAuthenticator::StaticAuthenticator(std::vector<std::string> api_keys)
    : api_keys_(std::move(api_keys)) {}

absl::Status StaticAuthenticator::Authenticate(net::HttpRequest& request,
                                               net::AuthScheme scheme) const {
  switch (scheme) {
    case net::AuthScheme::kBearer:
      return AuthenticateBearer(request);
    case net::AuthScheme::kSigV4:
      return absl::UnauthenticatedError(
          "no AWS access keys are configured for SigV4 routes (auth.sigv4_keys)");
  }
  return absl::UnauthenticatedError("unknown authentication scheme");
}

absl::Status StaticAuthenticator::AuthenticateBearer(net::HttpRequest& request) const {
  std::string_view presented = request.Header("x-api-key");
  if (presented.empty()) {
    std::string_view auth = request.Header("authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() > kBearer.size() && auth.substr(0, kBearer.size()) == kBearer) {
      presented = auth.substr(kBearer.size());
    }
  }
  if (presented.empty()) {
    return absl::UnauthenticatedError(
        "missing API key: send `Authorization: Bearer KEY` or `x-api-key: KEY`");
  }
  // Compare against every key in constant time per key, so timing does not
  // reveal how much of a key matched.
  for (const std::string& key : api_keys_) {
    if (key.size() == presented.size() &&
        CRYPTO_memcmp(key.data(), presented.data(), key.size()) == 0) {
      request.ctx.tenant = "default";
      request.ctx.principal = StrCat("api_key:", std::string_view(key).substr(0, 6));
      return absl::OkStatus();
    }
  }
  return absl::UnauthenticatedError("invalid API key");
}

}  // namespace basalt::app
