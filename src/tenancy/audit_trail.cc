#include "tenancy/audit_trail.h"

namespace basalt::tenancy {

namespace {

std::string Clip(std::string_view s, size_t n) { return std::string(s.substr(0, n)); }

}  // namespace

void AuditTrail::Record(const RequestContext& ctx, std::string_view tenant,
                        std::string_view action, std::string_view resource,
                        audit::AuditOutcome outcome, std::string_view reason) const {
  if (log_ == nullptr) return;
  audit::AuditEntry e;
  e.tenant = Clip(tenant.empty() ? std::string_view("_unknown") : tenant, audit::kMaxTenantBytes);
  e.principal = Clip(ctx.principal.empty() ? std::string_view("anonymous") : ctx.principal,
                     audit::kMaxFieldBytes);
  e.action = Clip(action, audit::kMaxActionBytes);
  e.remote_addr = Clip(ctx.remote, audit::kMaxRemoteAddrBytes);
  e.resource = Clip(resource, audit::kMaxFieldBytes);
  e.outcome = outcome;
  e.reason = Clip(reason, audit::kMaxFieldBytes);
  e.request_id = Clip(ctx.request_id, audit::kMaxRequestIdBytes);
  // A full queue drops the entry and counts it (AuditLog::dropped, exported
  // as basalt_audit_dropped_total); the request is not failed for it.
  (void)log_->Append(std::move(e));
}

}  // namespace basalt::tenancy
