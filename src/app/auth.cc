#include "app/auth.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "core/status.h"
#include "core/strings.h"

namespace basalt::app {

namespace asio = boost::asio;

namespace {

// "TENANT:KEY" or "KEY" (tenant "default").
std::pair<std::string, std::string> SplitTenantKey(const std::string& entry) {
  const auto colon = entry.find(':');
  if (colon == std::string::npos) return {"default", entry};
  return {entry.substr(0, colon), entry.substr(colon + 1)};
}

int64_t UnixMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch())
      .count();
}

std::string_view PresentedBearer(const net::HttpRequest& request) {
  std::string_view presented = request.Header("x-api-key");
  if (!presented.empty()) return presented;
  std::string_view auth = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() && auth.substr(0, kBearer.size()) == kBearer) {
    return auth.substr(kBearer.size());
  }
  return {};
}

// A compact JWS: three base64url segments, the first a JSON object ("eyJ").
bool LooksLikeJwt(std::string_view token) {
  return token.substr(0, 3) == "eyJ" && std::count(token.begin(), token.end(), '.') == 2;
}

}  // namespace

std::vector<std::string> TenantsNamedByKeys(const AuthOptions& options) {
  std::vector<std::string> out;
  auto add = [&out](std::string t) {
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
  };
  for (const auto& e : options.api_keys) add(SplitTenantKey(e).first);
  for (const auto& e : options.admin_keys) add(SplitTenantKey(e).first);
  for (const auto& e : options.sigv4_keys) {
    const std::vector<std::string_view> parts = Split(e, ':');
    add(parts.size() > 2 ? std::string(parts[2]) : "default");
  }
  return out;
}

TenantAuthenticator::TenantAuthenticator(const AuthOptions& options,
                                         const tenancy::Directory* directory,
                                         std::unique_ptr<tenancy::TokenVerifier> tokens,
                                         AuthAuditHook audit, const Clock& clock)
    : directory_(directory),
      tokens_(std::move(tokens)),
      audit_(std::move(audit)),
      clock_(clock),
      verifier_(
          [this](std::string_view access_key_id) -> std::optional<sigv4::AwsCredentials> {
            for (const auto& c : aws_keys_) {
              if (c.access_key_id == access_key_id) return c;
            }
            return std::nullopt;
          },
          clock) {
  for (const std::string& entry : options.api_keys) {
    auto [tenant, key] = SplitTenantKey(entry);
    config_keys_.push_back({std::move(key), std::move(tenant), kTenantPermissions});
  }
  for (const std::string& entry : options.admin_keys) {
    auto [tenant, key] = SplitTenantKey(entry);
    config_keys_.push_back({std::move(key), std::move(tenant), kAllPermissions});
  }
  for (const std::string& entry : options.sigv4_keys) {
    const std::vector<std::string_view> parts = Split(entry, ':');
    if (parts.size() < 2) continue;  // rejected by config validation
    aws_keys_.push_back({std::string(parts[0]), std::string(parts[1]), ""});
    aws_tenants_[std::string(parts[0])] = parts.size() > 2 ? std::string(parts[2]) : "default";
  }
}

absl::Status TenantAuthenticator::Fail(const net::HttpRequest& request, absl::Status status,
                                       std::string_view subject) const {
  if (audit_) audit_(request, "auth.failure", subject, ToStd(status.message()));
  return status;
}

asio::awaitable<absl::Status> TenantAuthenticator::Authenticate(net::HttpRequest& request,
                                                                net::AuthScheme scheme) const {
  if (scheme == net::AuthScheme::kSigV4) co_return AuthenticateSigV4(request);
  co_return co_await AuthenticateBearer(request);
}

asio::awaitable<absl::Status> TenantAuthenticator::AuthenticateBearer(
    net::HttpRequest& request) const {
  const std::string_view presented = PresentedBearer(request);
  if (presented.empty()) {
    co_return Fail(request,
                   absl::UnauthenticatedError(
                       "missing credentials: send `Authorization: Bearer KEY_OR_TOKEN` or "
                       "`x-api-key: KEY`"),
                   "");
  }
  if (LooksLikeJwt(presented)) {
    if (tokens_ == nullptr) {
      co_return Fail(request,
                     absl::UnauthenticatedError(
                         "bearer token: no JWT issuers are configured (auth.jwt)"),
                     "jwt");
    }
    auto principal = co_await tokens_->Verify(presented);
    if (!principal.ok()) co_return Fail(request, principal.status(), "jwt");
    request.ctx.tenant = std::move(principal->tenant);
    request.ctx.principal = std::move(principal->subject);
    request.ctx.key_id = std::move(principal->key_id);
    request.ctx.permissions = principal->permissions;
    co_return absl::OkStatus();
  }
  co_return AuthenticateKey(request, presented);
}

absl::Status TenantAuthenticator::AuthenticateKey(net::HttpRequest& request,
                                                  std::string_view presented) const {
  if (auto id = tenancy::ManagedKeyId(presented); id && directory_ != nullptr) {
    tenancy::ApiKeyPtr key = directory_->FindKey(*id);
    const std::string subject = StrCat("key:", *id);
    // One message for unknown, wrong, revoked and expired keys' secrets: the
    // answer never says which part of a secret was right.
    if (key == nullptr || !tenancy::KeyMatches(presented, key->hash)) {
      return Fail(request, absl::UnauthenticatedError("invalid API key"), subject);
    }
    const int64_t now = UnixMs(clock_);
    if (key->revoked_ms != 0 && key->revoked_ms <= now) {
      return Fail(request, absl::UnauthenticatedError("API key has been revoked"), subject);
    }
    if (key->expires_ms != 0 && key->expires_ms <= now) {
      return Fail(request, absl::UnauthenticatedError("API key has expired"), subject);
    }
    request.ctx.tenant = key->tenant;
    request.ctx.principal = subject;
    request.ctx.key_id = key->id;
    request.ctx.permissions = key->permissions;
    return absl::OkStatus();
  }
  // Compare against every config key in constant time per key, so timing does
  // not reveal how much of a key matched.
  for (const ConfigKey& entry : config_keys_) {
    const std::string& key = entry.key;
    if (key.size() == presented.size() &&
        CRYPTO_memcmp(key.data(), presented.data(), key.size()) == 0) {
      request.ctx.tenant = entry.tenant;
      // The key's SHA-256 prefix names it in logs and usage without revealing it.
      const std::string id = tenancy::Sha256Hex(key).substr(0, 12);
      request.ctx.principal = StrCat("config_key:", id);
      request.ctx.key_id = StrCat("cfg_", id);
      request.ctx.permissions = entry.permissions;
      return absl::OkStatus();
    }
  }
  return Fail(request, absl::UnauthenticatedError("invalid API key"), "");
}

absl::Status TenantAuthenticator::AuthenticateSigV4(net::HttpRequest& request) const {
  if (aws_keys_.empty()) {
    return Fail(request,
                absl::UnauthenticatedError("no AWS access keys are configured for "
                                           "Bedrock-compatible routes (auth.sigv4_keys)"),
                "");
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
  if (!identity.ok()) return Fail(request, identity.status(), "aws");
  if (identity->service != "bedrock") {
    return Fail(request,
                absl::PermissionDeniedError(
                    StrCat("Credential should be scoped to correct service: 'bedrock', not '",
                           identity->service, "'.")),
                StrCat("aws:", identity->access_key_id));
  }
  auto tenant = aws_tenants_.find(identity->access_key_id);
  request.ctx.tenant = tenant == aws_tenants_.end() ? "default" : tenant->second;
  request.ctx.principal = StrCat("aws:", identity->access_key_id);
  request.ctx.key_id = StrCat("aws_", identity->access_key_id);
  request.ctx.permissions = kTenantPermissions;
  return absl::OkStatus();
}

absl::Status TenantAuthenticator::Authorize(const net::HttpRequest& request,
                                            Permission needed) const {
  if (directory_ != nullptr) {
    tenancy::TenantPtr tenant = directory_->Find(request.ctx.tenant);
    if (tenant == nullptr) {
      // A token may name any tenant; only known ones are served.
      return Fail(request,
                  absl::UnauthenticatedError(
                      StrCat("the credentials name tenant '", request.ctx.tenant,
                             "', which does not exist")),
                  request.ctx.principal);
    }
    if (tenant->suspended() && !Has(request.ctx.permissions, Permission::kAdminTenants)) {
      absl::Status s = WithErrorCode(
          absl::PermissionDeniedError(StrCat("tenant '", tenant->name,
                                             "' is suspended; contact the operator")),
          "tenant_suspended");
      if (audit_) audit_(request, "permission.denied", request.ctx.principal, ToStd(s.message()));
      return s;
    }
  }
  if (!Has(request.ctx.permissions, needed)) {
    absl::Status s = WithErrorCode(
        absl::PermissionDeniedError(StrCat("these credentials lack the '", PermissionName(needed),
                                           "' permission this route needs")),
        "permission_denied");
    if (audit_) audit_(request, "permission.denied", request.ctx.principal, ToStd(s.message()));
    return s;
  }
  return absl::OkStatus();
}

}  // namespace basalt::app
