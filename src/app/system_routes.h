// The routes every basalt node serves regardless of which patterns are enabled:
// liveness, readiness, Prometheus metrics, and a JSON echo used to measure the
// HTTP path (parse and re-serialise the body).
#pragma once

#include <functional>

#include "absl/status/status.h"
#include "core/metrics.h"
#include "net/router.h"

namespace basalt::app {

struct SystemRoutesDeps {
  metrics::Registry* registry;
  // Readiness: OK when the node can take traffic (store reachable, not draining).
  std::function<boost::asio::awaitable<absl::Status>()> ready;
};

void AddSystemRoutes(net::Router& router, SystemRoutesDeps deps);

}  // namespace basalt::app
