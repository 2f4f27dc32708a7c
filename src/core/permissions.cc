#include "core/permissions.h"

#include <array>
#include <utility>

namespace basalt {
namespace {

constexpr std::array<std::pair<Permission, std::string_view>, 11> kNames = {{
    {Permission::kModelsInvoke, "models:invoke"},
    {Permission::kAsyncWrite, "async:write"},
    {Permission::kAsyncRead, "async:read"},
    {Permission::kRulesWrite, "rules:write"},
    {Permission::kRulesRead, "rules:read"},
    {Permission::kDlqWrite, "dlq:write"},
    {Permission::kUsageRead, "usage:read"},
    {Permission::kAuditRead, "audit:read"},
    {Permission::kAdminTenants, "admin:tenants"},
    {Permission::kKbWrite, "kb:write"},
    {Permission::kKbRead, "kb:read"},
}};

}  // namespace

std::optional<Permission> ParsePermission(std::string_view name) {
  for (const auto& [p, n] : kNames) {
    if (n == name) return p;
  }
  return std::nullopt;
}

std::string_view PermissionName(Permission p) {
  for (const auto& [q, n] : kNames) {
    if (q == p) return n;
  }
  return "none";
}

std::vector<std::string> PermissionNames(PermissionSet set) {
  std::vector<std::string> out;
  for (const auto& [p, n] : kNames) {
    if (Has(set, p)) out.emplace_back(n);
  }
  return out;
}

}  // namespace basalt
