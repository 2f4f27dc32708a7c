// Authenticator: decides who a request is. The server calls it for every
// non-public route after routing and before the handler; on success it fills
// request.ctx.tenant and request.ctx.principal. app/ provides the policy
// (API keys, SigV4, JWT later); net/ only calls it.
//
// Errors: kUnauthenticated (no or unknown credentials → 401, or AWS-shaped 403
// on AWS routes) and kPermissionDenied (bad signature, skew → 403).
// Authorize runs next: whether the authenticated principal holds the route's
// permission (kPermissionDenied naming it when not; an implementation may also
// refuse a suspended tenant there).
//
// Thread-safety: called from every io thread at once; implementations must be
// safe for concurrent use and must not block (a coroutine may await network
// I/O, e.g. a JWKS refresh).
#pragma once

#include <boost/asio/awaitable.hpp>

#include "absl/status/status.h"
#include "core/permissions.h"
#include "net/http_types.h"

namespace basalt::net {

enum class AuthScheme {
  kBearer,  // Authorization: Bearer KEY or x-api-key: KEY (OpenAI, Anthropic, native)
  kSigV4,   // AWS Signature Version 4 (Bedrock-compatible routes)
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual boost::asio::awaitable<absl::Status> Authenticate(HttpRequest& request,
                                                            AuthScheme scheme) const = 0;
  virtual absl::Status Authorize(const HttpRequest& request, Permission needed) const = 0;
};

}  // namespace basalt::net
