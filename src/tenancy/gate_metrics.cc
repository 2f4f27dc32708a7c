#include "tenancy/gate_metrics.h"

namespace basalt::tenancy {

GateMetrics::GateMetrics(metrics::Registry& registry, size_t tenant_labels)
    : tenants(tenant_labels),
      requests(registry.Counter("basalt_tenant_requests_total",
                                "Model calls through the metering point, by tenant and outcome",
                                {"tenant", "outcome"})),
      tokens(registry.Counter("basalt_tenant_tokens_total", "Model tokens by tenant and direction",
                              {"tenant", "direction"})),
      cost(registry.Counter("basalt_tenant_cost_dollars_total",
                            "Model cost by tenant, from the configured price table", {"tenant"})),
      rejections(registry.Counter("basalt_tenant_rejections_total",
                                  "Model calls refused by tenant policy, by reason",
                                  {"tenant", "reason"})) {}

void GateMetrics::Observe(std::string_view tenant, const absl::Status& status,
                          const models::Usage& usage, int64_t cost_micros) {
  const std::string_view label = tenants.Label(tenant);
  requests.With({label, status.ok() ? "ok" : "error"}).Inc();
  if (usage.input_tokens > 0) {
    tokens.With({label, "input"}).Inc(static_cast<double>(usage.input_tokens));
  }
  if (usage.output_tokens > 0) {
    tokens.With({label, "output"}).Inc(static_cast<double>(usage.output_tokens));
  }
  if (cost_micros > 0) cost.With({label}).Inc(static_cast<double>(cost_micros) / 1e6);
}

void GateMetrics::Reject(std::string_view tenant, std::string_view reason) {
  rejections.With({tenants.Label(tenant), reason}).Inc();
}

}  // namespace basalt::tenancy
