// JWT bearer tokens from basalt.yaml's `auth.jwt`: one entry per issuer.
//
//   auth:
//     jwt:
//       - issuer: https://login.example.com/
//         audience: [basalt]              # one must be in the token's aud
//         algorithms: [RS256, ES256]      # of RS256 PS256 ES256 EdDSA HS256
//         jwks_url: https://login.example.com/.well-known/jwks.json
//         # or jwks_file: /etc/basalt/jwks.json; or hs256_secret_env: NAME
//         allow_loopback: false           # a jwks_url on a loopback/private address
//         tenant_claim: tenant_id         # default tenant_id
//         permissions_claim: permissions  # list, or a space-separated string
//         default_scopes: [invoker]       # when the token carries none
//         leeway_seconds: 60
//
// The algorithm is bound to the key and never taken from the token
// (tenancy/jose). Keys of a jwks_url are cached, refreshed on an unknown kid,
// at most once per jwks_min_refresh_seconds.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/config.h"
#include "net/client_set.h"
#include "tenancy/principal.h"
#include "tenancy/roles.h"

namespace basalt::app {

// Null when `auth.jwt` is absent. kInvalidArgument naming the field
// ("auth.jwt[0].algorithms[1]: ...") for a bad entry. `clients` fetches
// jwks_url (may be null when no issuer uses one).
absl::StatusOr<std::unique_ptr<tenancy::TokenVerifier>> BuildJwtVerifier(
    const Config& config, const tenancy::RoleTable& roles, const net::ClientSet* clients,
    const Clock& clock = RealClock::Instance());

}  // namespace basalt::app
