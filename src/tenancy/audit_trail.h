// AuditTrail: what the rest of basalt uses to write the audit log — one call
// per event, from any thread, never blocking (tenancy/audit/audit_log.h
// queues and writes in the background). Entries record who, what, when, from
// where, the resource and the outcome; never secrets or content.
#pragma once

#include <string_view>

#include "core/context.h"
#include "tenancy/audit/audit_log.h"

namespace basalt::tenancy {

class AuditTrail {
 public:
  explicit AuditTrail(audit::AuditLog* log) : log_(log) {}  // null: audit off

  // `tenant` is the chain the entry joins (the request's tenant unless an
  // admin acts on another one).
  void Record(const RequestContext& ctx, std::string_view tenant, std::string_view action,
              std::string_view resource, audit::AuditOutcome outcome,
              std::string_view reason = {}) const;
  audit::AuditLog* log() const { return log_; }

 private:
  audit::AuditLog* log_;
};

}  // namespace basalt::tenancy
