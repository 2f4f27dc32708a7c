// Builds the model gateway from configuration: one HTTP client per io thread,
// the providers (builtin always; openai and anthropic from `providers`), the
// router with its catalog and limits, and the OpenAI-, Anthropic- and
// Bedrock-compatible routes.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "api/gateway.h"
#include "core/config.h"
#include "models/router/provider_registry.h"
#include "models/router/router.h"
#include "net/client_set.h"
#include "net/router.h"
#include "net/server.h"
#include "tenancy/model_gate.h"

namespace basalt::app {

struct Gateway {
  std::unique_ptr<net::ClientSet> clients;
  std::unique_ptr<models::ProviderRegistry> providers;
  std::unique_ptr<models::Router> router;
  std::unique_ptr<api::GatewayMetrics> metrics;
};

// Needs the server's io_contexts (for the per-thread HTTP clients), so call it
// after the Server is constructed and before it runs.
absl::StatusOr<Gateway> BuildGateway(const Config& config, net::Server& server,
                                     metrics::Registry& registry);

// The OpenAI-, Anthropic- and Bedrock-compatible routes, calling models
// through `gate` (the tenancy's metering point in front of the router).
void AddGatewayRoutes(Gateway& gateway, tenancy::ModelGate& gate, net::Router& routes,
                      metrics::Registry& registry);

}  // namespace basalt::app
