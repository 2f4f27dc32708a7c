#include "app/auth.h"

#include <openssl/crypto.h>

#include "core/strings.h"

namespace basalt::app {

StaticAuthenticator::StaticAuthenticator(const std::vector<std::string>& api_keys,
                                         const std::vector<std::string>& sigv4_keys,
                                         const Clock& clock)
    : verifier_(
          [this](std::string_view access_key_id) -> std::optional<sigv4::AwsCredentials> {
            for (const auto& c : aws_keys_) {
              if (c.access_key_id == access_key_id) return c;
            }
            return std::nullopt;
          },
          clock) {
  for (const std::string& entry : api_keys) {
    const auto colon = entry.find(':');
    if (colon == std::string::npos) {
      api_keys_.push_back({entry, "default"});
    } else {
      api_keys_.push_back({entry.substr(colon + 1), entry.substr(0, colon)});
    }
  }
  for (const std::string& entry : sigv4_keys) {
    const std::vector<std::string_view> parts = Split(entry, ':');
    if (parts.size() < 2) continue;  // rejected by config validation
    aws_keys_.push_back({std::string(parts[0]), std::string(parts[1]), ""});
    aws_tenants_[std::string(parts[0])] = parts.size() > 2 ? std::string(parts[2]) : "default";
  }
}

absl::Status StaticAuthenticator::Authenticate(net::HttpRequest& request,
                                               net::AuthScheme scheme) const {
  switch (scheme) {
    case net::AuthScheme::kBearer:
      return AuthenticateBearer(request);
    case net::AuthScheme::kSigV4:
      return AuthenticateSigV4(request);
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
  for (const ApiKey& entry : api_keys_) {
    const std::string& key = entry.key;
    if (key.size() == presented.size() &&
        CRYPTO_memcmp(key.data(), presented.data(), key.size()) == 0) {
      request.ctx.tenant = entry.tenant;
      request.ctx.principal = StrCat("api_key:", std::string_view(key).substr(0, 6));
      return absl::OkStatus();
    }
  }
  return absl::UnauthenticatedError("invalid API key");
}

absl::Status StaticAuthenticator::AuthenticateSigV4(net::HttpRequest& request) const {
  if (aws_keys_.empty()) {
    return absl::UnauthenticatedError(
        "no AWS access keys are configured for Bedrock-compatible routes (auth.sigv4_keys)");
  }
  sigv4::SignableRequest signable;
  signable.method = std::string(request.raw.method_string());
  signable.path = std::string(request.path);
  signable.query = std::string(request.query);
  for (const auto& field : request.raw) {
    signable.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  signable.body = std::string(request.body());
  auto identity = verifier_.Verify(signable);
  if (!identity.ok()) return identity.status();
  if (identity->service != "bedrock") {
    return absl::PermissionDeniedError(
        StrCat("Credential should be scoped to correct service: 'bedrock', not '",
               identity->service, "'."));
  }
  auto tenant = aws_tenants_.find(identity->access_key_id);
  request.ctx.tenant = tenant == aws_tenants_.end() ? "default" : tenant->second;
  request.ctx.principal = StrCat("aws:", identity->access_key_id);
  return absl::OkStatus();
}

}  // namespace basalt::app
