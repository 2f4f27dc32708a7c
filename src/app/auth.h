// The authentication and authorisation policy of `basalt serve`. Every
// identity is verified and yields a principal (tenant, subject, permissions):
//   - managed API keys (`bsk_<id>_<secret>`, tenancy/api_keys.h) from the
//     Directory, with their scopes, expiry and revocation;
//   - JWT bearer tokens through the configured TokenVerifier (auth.jwt);
//   - API keys from basalt.yaml (auth.api_keys "TENANT:KEY": every permission
//     inside the tenant; auth.admin_keys: every permission, admin included);
//   - SigV4 access keys (auth.sigv4_keys "ID:SECRET:TENANT") on AWS routes.
// Authorize then checks the route's permission and the tenant's status: a
// suspended tenant gets 403 saying so. Failures are audited (never with the
// secret) through `audit`.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "net/authenticator.h"
#include "net/sigv4_verifier.h"
#include "tenancy/directory.h"
#include "tenancy/principal.h"

namespace basalt::app {

struct AuthOptions {
  std::vector<std::string> api_keys;    // "KEY" or "TENANT:KEY"
  std::vector<std::string> admin_keys;  // "KEY" or "TENANT:KEY"
  std::vector<std::string> sigv4_keys;  // "ID:SECRET" or "ID:SECRET:TENANT"
};

// What an authentication or authorisation failure reports to the audit log.
using AuthAuditHook = std::function<void(const net::HttpRequest& request, std::string_view action,
                                         std::string_view subject, std::string_view reason)>;

class TenantAuthenticator final : public net::Authenticator {
 public:
  // `directory` and `tokens` may be null (no managed keys / no JWT issuers).
  TenantAuthenticator(const AuthOptions& options, const tenancy::Directory* directory,
                      std::unique_ptr<tenancy::TokenVerifier> tokens, AuthAuditHook audit,
                      const Clock& clock = RealClock::Instance());

  boost::asio::awaitable<absl::Status> Authenticate(net::HttpRequest& request,
                                                    net::AuthScheme scheme) const override;
  absl::Status Authorize(const net::HttpRequest& request, Permission needed) const override;

  // JWT issuers are built once the io threads exist (JWKS fetches need their
  // HTTP clients): set before the server runs, never after.
  void SetTokenVerifier(std::unique_ptr<tenancy::TokenVerifier> tokens) {
    tokens_ = std::move(tokens);
  }

 private:
  boost::asio::awaitable<absl::Status> AuthenticateBearer(net::HttpRequest& request) const;
  absl::Status AuthenticateKey(net::HttpRequest& request, std::string_view presented) const;
  absl::Status AuthenticateSigV4(net::HttpRequest& request) const;
  absl::Status Fail(const net::HttpRequest& request, absl::Status status,
                    std::string_view subject) const;

  struct ConfigKey {
    std::string key;
    std::string tenant;
    PermissionSet permissions;
  };
  std::vector<ConfigKey> config_keys_;
  std::vector<sigv4::AwsCredentials> aws_keys_;
  std::map<std::string, std::string> aws_tenants_;  // access key id -> tenant
  const tenancy::Directory* directory_;
  std::unique_ptr<tenancy::TokenVerifier> tokens_;
  AuthAuditHook audit_;
  const Clock& clock_;
  sigv4::SigV4Verifier verifier_;
};

// The tenants config keys name (auth.api_keys, auth.admin_keys,
// auth.sigv4_keys), "default" for keys that name none.
std::vector<std::string> TenantsNamedByKeys(const AuthOptions& options);

}  // namespace basalt::app
