// Principal: who a request runs as once its identity is verified: the tenant,
// the subject (key id, token subject or access key id) and its permissions.
// TokenVerifier is the port through which bearer tokens (JWTs) become
// principals; app/ implements it over tenancy/jose.
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "absl/status/statusor.h"
#include "core/permissions.h"

namespace basalt::tenancy {

struct Principal {
  std::string tenant;
  std::string subject;  // "key:<id>", "jwt:<iss>#<sub>", "aws:<access key id>"
  std::string key_id;   // rate limits and usage are kept per key id
  PermissionSet permissions = 0;
};

class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  // kUnauthenticated with a reason that reveals nothing about the secret.
  // May await a JWKS refresh; never blocks.
  virtual boost::asio::awaitable<absl::StatusOr<Principal>> Verify(std::string_view token) const = 0;
};

}  // namespace basalt::tenancy
