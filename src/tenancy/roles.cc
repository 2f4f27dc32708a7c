#include "tenancy/roles.h"

#include "core/strings.h"

namespace basalt::tenancy {

namespace {

constexpr PermissionSet Bits(std::initializer_list<Permission> ps) {
  PermissionSet out = 0;
  for (Permission p : ps) out |= static_cast<PermissionSet>(p);
  return out;
}

}  // namespace

RoleTable::RoleTable() {
  using P = Permission;
  roles_["admin"] = kAllPermissions;
  roles_["tenant_admin"] = kTenantPermissions;
  roles_["developer"] = Bits({P::kModelsInvoke, P::kAsyncWrite, P::kAsyncRead, P::kRulesWrite,
                              P::kRulesRead, P::kDlqWrite, P::kUsageRead, P::kKbWrite,
                              P::kKbRead});
  roles_["invoker"] = Bits({P::kModelsInvoke});
}

absl::Status RoleTable::AddFromConfig(const nlohmann::json& roles) {
  if (roles.is_null()) return absl::OkStatus();
  if (!roles.is_object()) {
    return absl::InvalidArgumentError("auth.roles: must be a mapping of role name to permissions");
  }
  for (auto it = roles.begin(); it != roles.end(); ++it) {
    const std::string field = StrCat("auth.roles.", it.key());
    if (!it->is_array()) return absl::InvalidArgumentError(field + ": must be a list of permissions");
    PermissionSet set = 0;
    for (size_t i = 0; i < it->size(); ++i) {
      const nlohmann::json& v = (*it)[i];
      auto p = v.is_string() ? ParsePermission(v.get<std::string>()) : std::nullopt;
      if (!p) {
        return absl::InvalidArgumentError(StrCat(field, "[", i, "]: unknown permission ",
                                                 v.dump(), " (known: ",
                                                 StrJoin(PermissionNames(kAllPermissions), ", "), ")"));
      }
      set |= static_cast<PermissionSet>(*p);
    }
    roles_[it.key()] = set;
  }
  return absl::OkStatus();
}

absl::StatusOr<PermissionSet> RoleTable::Resolve(const std::vector<std::string>& scopes,
                                                 std::string_view field) const {
  PermissionSet out = 0;
  for (size_t i = 0; i < scopes.size(); ++i) {
    const std::string& s = scopes[i];
    if (s == "*") {
      out |= kTenantPermissions;
    } else if (auto p = ParsePermission(s)) {
      out |= static_cast<PermissionSet>(*p);
    } else if (auto r = roles_.find(s); r != roles_.end()) {
      out |= r->second;
    } else {
      return absl::InvalidArgumentError(
          StrCat(field, "[", i, "]: unknown scope '", s, "': use a permission (",
                 StrJoin(PermissionNames(kAllPermissions), ", "), ") or a role"));
    }
  }
  return out;
}

PermissionSet RoleTable::ResolveKnown(const std::vector<std::string>& scopes) const {
  PermissionSet out = 0;
  for (const std::string& s : scopes) {
    if (auto p = ParsePermission(s)) {
      out |= static_cast<PermissionSet>(*p);
    } else if (auto r = roles_.find(s); r != roles_.end()) {
      out |= r->second;
    }
  }
  return out;
}

}  // namespace basalt::tenancy
