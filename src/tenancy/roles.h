// Roles: named groups of permissions. Built in: `admin` (everything, across
// tenants), `tenant_admin` (everything inside the tenant), `developer`
// (models, async, rules, DLQ, usage) and `invoker` (models only). basalt.yaml's
// `auth.roles` adds or replaces roles: {name: [permission, ...]}.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "core/permissions.h"

namespace basalt::tenancy {

class RoleTable {
 public:
  RoleTable();  // the built-in roles
  // Adds the roles of `auth.roles` (a JSON object of lists); errors name the entry.
  absl::Status AddFromConfig(const nlohmann::json& roles);
  // Scopes are permission names ("models:invoke") or role names; "*" is every
  // tenant permission. kInvalidArgument naming `field`[i] for an unknown scope.
  absl::StatusOr<PermissionSet> Resolve(const std::vector<std::string>& scopes,
                                        std::string_view field) const;
  // Lenient form for tokens: unknown scopes are ignored (an IdP may send others).
  PermissionSet ResolveKnown(const std::vector<std::string>& scopes) const;

 private:
  std::map<std::string, PermissionSet, std::less<>> roles_;
};

}  // namespace basalt::tenancy
