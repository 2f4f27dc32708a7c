// The authentication policy of `basalt serve`: static API keys for Bearer
// routes (OpenAI, Anthropic, native) from auth.api_keys, and AWS access keys
// for SigV4 routes (Bedrock-compatible) from auth.sigv4_keys. Full
// multi-tenancy (JWT, per-tenant keys) replaces this later; until then every
// key maps to the `default` tenant.
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "net/authenticator.h"
#include "net/sigv4_verifier.h"

namespace basalt::app {

class StaticAuthenticator final : public net::Authenticator {
 public:
  // `sigv4_keys` entries are "ACCESS_KEY_ID:SECRET_ACCESS_KEY" (validated by config).
  StaticAuthenticator(std::vector<std::string> api_keys, std::vector<std::string> sigv4_keys,
                      const Clock& clock = RealClock::Instance());
  absl::Status Authenticate(net::HttpRequest& request, net::AuthScheme scheme) const override;

 private:
  absl::Status AuthenticateBearer(net::HttpRequest& request) const;
  absl::Status AuthenticateSigV4(net::HttpRequest& request) const;

  const std::vector<std::string> api_keys_;
  std::vector<sigv4::AwsCredentials> aws_keys_;
  sigv4::SigV4Verifier verifier_;
};

}  // namespace basalt::app
