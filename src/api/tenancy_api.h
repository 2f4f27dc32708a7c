// HTTP surface of the multi-tenancy pattern (docs/TENANCY.md):
//   /v1/admin/tenants[/{tenant}[/suspend|/resume|/keys[/{id}/revoke|/rotate]]]
//                                    admin:tenants
//   GET /v1/admin/usage, GET /v1/admin/audit   admin reads across tenants
//   GET /v1/tenant                   the caller's tenant, limits and budget burn
//   GET /v1/usage                    usage:read, the caller's tenant only
//   GET /v1/audit                    audit:read, the caller's tenant only
//   POST /guardrail/{id}/version/{v}/apply      Bedrock ApplyGuardrail (SigV4)
#pragma once

#include "core/blocking_pool.h"
#include "net/router.h"
#include "tenancy/audit/audit_log.h"
#include "tenancy/limits/budget_ledger.h"
#include "tenancy/limits/usage_store.h"
#include "tenancy/model_gate.h"
#include "tenancy/tenant_admin.h"

namespace basalt::api {

struct TenancyApiDeps {
  tenancy::TenantAdmin* admin = nullptr;
  const tenancy::Directory* directory = nullptr;
  limits::UsageStore* usage = nullptr;
  limits::BudgetLedger* budgets = nullptr;
  audit::AuditLog* audit_log = nullptr;
  tenancy::ModelGate* gate = nullptr;
  BlockingPool* pool = nullptr;
};

void AddTenancyRoutes(net::Router& router, TenancyApiDeps deps);

}  // namespace basalt::api
