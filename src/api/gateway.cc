#include "api/gateway.h"

#include "core/json.h"

namespace basalt::api {

GatewayMetrics::GatewayMetrics(metrics::Registry& registry)
    : overhead_(registry.Histogram(
          "basalt_gateway_overhead_seconds",
          "Time a model request spent in basalt itself: total time minus time awaiting upstreams",
          {"api"},
          {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1})) {}

void GatewayMetrics::ObserveOverhead(std::string_view api,
                                     std::chrono::steady_clock::time_point started,
                                     const models::UpstreamTiming& timing) {
  const auto total = std::chrono::steady_clock::now() - started;
  const double overhead = std::chrono::duration<double>(total - timing.upstream).count();
  overhead_.With({api}).Observe(overhead < 0 ? 0 : overhead);
}

absl::StatusOr<nlohmann::json> ParseBody(const net::HttpRequest& request) {
  if (request.body().empty()) return absl::InvalidArgumentError("body: a JSON object is required");
  auto json = ParseJson(request.body(), "body");
  if (!json.ok()) return json.status();
  if (!json->is_object()) return absl::InvalidArgumentError("body: must be a JSON object");
  return json;
}

net::RouteOptions ModelRouteOptions(net::ErrorStyle style, net::AuthScheme auth) {
  net::RouteOptions options;
  options.permission = Permission::kModelsInvoke;
  options.error_style = style;
  options.auth = auth;
  options.cancel_on_disconnect = true;
  return options;
}

int64_t UnixSeconds(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count();
}

}  // namespace basalt::api
