// Tenant: one customer of a basalt deployment, as a resource. Declared in
// basalt.yaml (`tenants:`) or managed through /v1/admin/tenants; both produce
// the same record, validated by ParseTenant. docs/TENANCY.md is the reference.
//
//   {"name": "acme", "status": "active",
//    "models": {"allowed": ["gpt-*", "builtin*"], "default": "builtin", "max_tokens": 4096},
//    "limits": {"requests_per_minute": 600, "tokens_per_minute": 200000,
//               "concurrent_requests": 32},
//    "budgets": {"tokens_per_month": 0, "cost_usd_per_month": 250.0},
//    "region": "eu-west-1", "isolation": "pool", "guardrail": {...}}
//
// Zero means unlimited for every limit and budget. Pure values; thread-safe
// once built (the registry shares them as shared_ptr<const Tenant>).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "tenancy/guardrails/policy.h"

namespace basalt::tenancy {

enum class TenantStatus { kActive, kSuspended };
enum class Isolation { kPool, kSilo };

struct TenantLimits {
  int64_t requests_per_minute = 0;
  int64_t tokens_per_minute = 0;
  int64_t concurrent_requests = 0;
};

struct TenantBudgets {
  int64_t tokens_per_month = 0;
  int64_t cost_micros_per_month = 0;  // cost_usd_per_month × 1e6
};

struct Tenant {
  std::string name;
  TenantStatus status = TenantStatus::kActive;
  std::vector<std::string> allowed_models;  // glob patterns; empty: every model
  std::string default_model;                // used when a request names none
  int64_t max_tokens = 0;                   // cap on a request's max_tokens; 0: none
  TenantLimits limits;
  TenantBudgets budgets;
  std::string region;                       // residency; empty: any region
  Isolation isolation = Isolation::kPool;
  nlohmann::json guardrail;                 // policy object, or null for none
  // `guardrail` compiled (RE2 patterns and all); null when there is none.
  std::shared_ptr<const guardrails::Policy> guardrail_policy;
  std::string source = "api";               // "config" or "api"
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  bool suspended() const { return status == TenantStatus::kSuspended; }
  // Whether `model` matches one of allowed_models (or the list is empty).
  bool AllowsModel(std::string_view model) const;
};

// Tenant names: 1-64 of [A-Za-z0-9_.-], not starting with '_' (reserved).
bool ValidTenantId(std::string_view name);

// Validates a tenant document. `path` prefixes field names in errors
// ("tenants[1].limits.requests_per_minute: must be an integer >= 0").
// `base` gives the values of fields the document leaves out (PATCH semantics);
// without it they take their defaults.
absl::StatusOr<Tenant> ParseTenant(const nlohmann::json& doc, std::string_view path,
                                   const Tenant* base = nullptr);
nlohmann::json TenantToJson(const Tenant& tenant);


}  // namespace basalt::tenancy
