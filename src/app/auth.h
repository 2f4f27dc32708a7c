// The authentication policy of `basalt serve`: static API keys for Bearer
// routes (OpenAI, Anthropic, native) from auth.api_keys, and AWS access keys
// for SigV4 routes (Bedrock-compatible) from auth.sigv4_keys. Full
// multi-tenancy (JWT, managed keys) replaces this later; until then a key names
// its tenant in config (`TENANT:KEY`, `ID:SECRET:TENANT`) or is tenant `default`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/clock.h"
#include "net/authenticator.h"
#include "net/sigv4_verifier.h"

namespace basalt::app {

class StaticAuthenticator final : public net::Authenticator {
 public:
  // Entries as validated by config: api_keys "KEY" or "TENANT:KEY"; sigv4_keys
  // "ACCESS_KEY_ID:SECRET_ACCESS_KEY" or "ACCESS_KEY_ID:SECRET_ACCESS_KEY:TENANT".
  StaticAuthenticator(const std::vector<std::string>& api_keys,
                      const std::vector<std::string>& sigv4_keys,
                      const Clock& clock = RealClock::Instance());
  absl::Status Authenticate(net::HttpRequest& request, net::AuthScheme scheme) const override;

 private:
  absl::Status AuthenticateBearer(net::HttpRequest& request) const;
  absl::Status AuthenticateSigV4(net::HttpRequest& request) const;

  struct ApiKey {
    std::string key;
    std::string tenant;
  };
  std::vector<ApiKey> api_keys_;
  std::vector<sigv4::AwsCredentials> aws_keys_;
  std::map<std::string, std::string> aws_tenants_;  // access key id -> tenant
  sigv4::SigV4Verifier verifier_;
};

}  // namespace basalt::app
