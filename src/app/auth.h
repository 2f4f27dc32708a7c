// The authentication policy of `basalt serve`: static API keys for Bearer
// routes (OpenAI, Anthropic, native) from auth.api_keys. Full multi-tenancy
// (JWT, per-tenant keys) replaces this later; until then every key maps to the
// `default` tenant.
#pragma once

#include <string>
#include <vector>

#include "net/authenticator.h"

namespace basalt::app {

class StaticAuthenticator final : public net::Authenticator {
 public:
  explicit StaticAuthenticator(std::vector<std::string> api_keys);
  absl::Status Authenticate(net::HttpRequest& request, net::AuthScheme scheme) const override;

 private:
  absl::Status AuthenticateBearer(net::HttpRequest& request) const;

  const std::vector<std::string> api_keys_;
};

}  // namespace basalt::app
