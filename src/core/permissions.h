// Permissions: what a principal may do, one bit per route family. Every
// identity (API key, JWT, SigV4 key) yields a set of them; every route names
// the one it needs (net::RouteOptions::permission), checked after
// authentication. Roles (auth.roles in basalt.yaml, plus the built-in ones in
// tenancy/roles.h) are named groups of permissions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt {

enum class Permission : uint32_t {
  kNone = 0,                  // public or authentication-only routes
  kModelsInvoke = 1u << 0,    // models:invoke   chat, messages, converse, invoke, embeddings, guardrails
  kAsyncWrite = 1u << 1,      // async:write     submit, cancel, batches, custom events
  kAsyncRead = 1u << 2,       // async:read      invocations, events, batches, queue stats
  kRulesWrite = 1u << 3,      // rules:write     create, replace, delete rules
  kRulesRead = 1u << 4,       // rules:read      get and list rules
  kDlqWrite = 1u << 5,        // dlq:write       dead-letter redrive
  kUsageRead = 1u << 6,       // usage:read      GET /v1/usage
  kAuditRead = 1u << 7,       // audit:read      GET /v1/audit
  kAdminTenants = 1u << 8,    // admin:tenants   /v1/admin/*: tenants, keys, reads across tenants
  kKbWrite = 1u << 9,         // kb:write        knowledge bases, data sources, documents, ingestion
  kKbRead = 1u << 10,         // kb:read         knowledge bases and documents, retrieve, answer
};

using PermissionSet = uint32_t;

inline constexpr PermissionSet kAllPermissions = (1u << 11) - 1;
// Everything a tenant may do inside its own tenant (no admin:tenants).
inline constexpr PermissionSet kTenantPermissions =
    kAllPermissions & ~static_cast<PermissionSet>(Permission::kAdminTenants);

inline constexpr bool Has(PermissionSet set, Permission p) {
  return p == Permission::kNone || (set & static_cast<PermissionSet>(p)) != 0;
}

// "models:invoke" <-> Permission; nullopt for an unknown name.
std::optional<Permission> ParsePermission(std::string_view name);
std::string_view PermissionName(Permission p);
// Names of the bits set, in declaration order.
std::vector<std::string> PermissionNames(PermissionSet set);

}  // namespace basalt
