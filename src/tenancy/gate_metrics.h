// The gate's Prometheus series, labelled by tenant with bounded cardinality
// (the first tenants seen — seeded with the top tenants by usage at start —
// keep their own label, the rest are "other"):
//   basalt_tenant_requests_total{tenant,outcome}      outcome: ok, error
//   basalt_tenant_tokens_total{tenant,direction}      direction: input, output
//   basalt_tenant_cost_dollars_total{tenant}
//   basalt_tenant_rejections_total{tenant,reason}     rate_limited, concurrency,
//       budget_exceeded, model_not_allowed, guardrail_blocked, request_too_large, other
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "core/metrics.h"
#include "models/types.h"
#include "tenancy/limits/bounded_labels.h"

namespace basalt::tenancy {

struct GateMetrics {
  explicit GateMetrics(metrics::Registry& registry, size_t tenant_labels = 50);
  void Observe(std::string_view tenant, const absl::Status& status, const models::Usage& usage,
               int64_t cost_micros);
  void Reject(std::string_view tenant, std::string_view reason);

  limits::BoundedLabels tenants;
  metrics::CounterFamily& requests;
  metrics::CounterFamily& tokens;
  metrics::CounterFamily& cost;
  metrics::CounterFamily& rejections;
};

}  // namespace basalt::tenancy
