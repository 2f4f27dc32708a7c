// What the model-serving routes share: the router they call, the gateway
// metrics, and the helpers that run a chat call plainly or as a stream and
// time it. Each wire format (openai_api, anthropic_api, bedrock_api) parses its
// request into the canonical form, calls RunChat / OpenChatStream, and renders
// the answer in its own shape.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "core/clock.h"
#include "core/metrics.h"
#include "models/router/router.h"
#include "tenancy/model_gate.h"
#include "net/http_types.h"
#include "net/router.h"
#include "net/stream_writer.h"

namespace basalt::api {

struct GatewayDeps {
  // The metering point in front of the Router: tenant policy, limits,
  // budgets, guardrails and usage (tenancy/model_gate.h).
  tenancy::ModelGate* router = nullptr;
  metrics::Registry* registry = nullptr;
  const Clock* clock = &RealClock::Instance();
};

// Gateway overhead = request time − time awaiting upstreams, per API.
class GatewayMetrics {
 public:
  explicit GatewayMetrics(metrics::Registry& registry);
  void ObserveOverhead(std::string_view api, std::chrono::steady_clock::time_point started,
                       const models::UpstreamTiming& timing);

 private:
  metrics::HistogramFamily& overhead_;
};

// A streamed answer being relayed to a client: the upstream stream, the timing
// the router keeps filling, and when the request started.
struct RelayState {
  std::unique_ptr<models::ChatStream> stream;
  models::UpstreamTiming timing;
  std::chrono::steady_clock::time_point started;
};

// Parses a JSON request body; kInvalidArgument naming "body" on failure.
absl::StatusOr<nlohmann::json> ParseBody(const net::HttpRequest& request);

// Route options for model calls: cancelled when the client disconnects.
net::RouteOptions ModelRouteOptions(net::ErrorStyle style = net::ErrorStyle::kNative,
                                    net::AuthScheme auth = net::AuthScheme::kBearer);

// Unix seconds now, for `created` fields.
int64_t UnixSeconds(const Clock& clock);

}  // namespace basalt::api
