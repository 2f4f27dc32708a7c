// The async pattern's HTTP surface (docs/ASYNC.md): invocations and their
// event streams, batches, Bedrock StartAsyncInvoke, rules, custom events and
// the queue admin routes. Wire formats only; the work is in async/.
#pragma once

#include "async/event_hub.h"
#include "async/rules.h"
#include "async/service.h"
#include "net/router.h"

namespace basalt::api {

struct AsyncApiDeps {
  async::AsyncService* service = nullptr;
  async::RulesCatalog* rules = nullptr;
  async::EventHub* hub = nullptr;
  const AsyncConfig* config = nullptr;
};

void AddAsyncRoutes(net::Router& router, AsyncApiDeps deps);
void AddRulesRoutes(net::Router& router, AsyncApiDeps deps);
void AddBedrockAsyncRoutes(net::Router& router, AsyncApiDeps deps);

// Shared by the three: SSE of `sub`'s events until `stop` says so, with a
// heartbeat comment every 15 s. Ends quietly when the client goes away.
boost::asio::awaitable<absl::Status> RelayEvents(net::StreamWriter& writer,
                                                 async::Subscription& sub,
                                                 std::function<bool(const bus::Event&)> stop);

}  // namespace basalt::api
