#include "app/gateway_wiring.h"

#include <algorithm>

#include "api/anthropic_api.h"
#include "api/bedrock_api.h"
#include "api/openai_api.h"
#include "core/strings.h"
#include "models/builtin/builtin_provider.h"
#include "models/providers/anthropic_provider.h"
#include "models/providers/bedrock_provider.h"
#include "models/providers/openai_provider.h"

namespace basalt::app {

namespace {

absl::StatusOr<std::unique_ptr<models::ModelProvider>> MakeProvider(const ProviderConfig& p,
                                                                     const net::ClientSet& clients) {
  if (p.type == "openai") return std::unique_ptr<models::ModelProvider>(new models::OpenAiProvider(p, clients));
  if (p.type == "bedrock") {
    return std::unique_ptr<models::ModelProvider>(new models::BedrockProvider(p, clients));
  }
  if (p.type == "anthropic") {
    return std::unique_ptr<models::ModelProvider>(new models::AnthropicProvider(p, clients));
  }
  if (p.type == "builtin") return absl::InvalidArgumentError(
      StrCat("providers: '", p.name, "': the builtin provider is always present; remove this entry"));
  // Config validation admits only the types above; reaching here is a wiring bug.
  return absl::InternalError(StrCat("providers: '", p.name, "': unknown type '", p.type, "'"));
}

// The builtin models by name: always there (unless an alias takes the name).
std::vector<models::AliasConfig> BuiltinAliases() {
  const std::string chat(models::BuiltinProvider::kChatModel);
  const std::string embed(models::BuiltinProvider::kEmbedModel);
  return {{"builtin", {{"builtin", "builtin"}}}, {chat, {{"builtin", chat}}},
          {embed, {{"builtin", embed}}}};
}

// The embedded default's patterns: the model ids of the reference document
// (Bedrock's "anthropic.claude-...", Titan embeddings, ...) to the builtin
// provider. Any other name is 404 model_not_found. A configured
// `models.aliases` or `models.default_provider` replaces these.
std::vector<models::AliasConfig> EmbeddedAliases() {
  const std::string chat(models::BuiltinProvider::kChatModel);
  const std::string embed(models::BuiltinProvider::kEmbedModel);
  return {
      {"amazon.titan-embed-*", {{"builtin", embed}}},
      {"cohere.embed-*", {{"builtin", embed}}},
      {"anthropic.claude-*", {{"builtin", chat}}},
      {"us.anthropic.claude-*", {{"builtin", chat}}},
      {"amazon.nova-*", {{"builtin", chat}}},
      {"amazon.titan-text-*", {{"builtin", chat}}},
      {"meta.llama*", {{"builtin", chat}}},
      {"mistral.*", {{"builtin", chat}}},
  };
}

models::RouterOptions RouterOptionsFrom(const Config& config) {
  models::RouterOptions options;
  options.retry.max_attempts = static_cast<int>(config.router.max_attempts);
  options.retry.backoff.base = std::chrono::milliseconds(config.router.backoff_base_ms);
  options.retry.backoff.cap = std::chrono::milliseconds(config.router.backoff_cap_ms);
  options.retry.attempt_timeout = std::chrono::milliseconds(config.router.attempt_timeout_ms);
  options.breaker.failure_threshold = static_cast<int>(config.router.breaker_failures);
  options.breaker.cool_down = std::chrono::milliseconds(config.router.breaker_cooldown_ms);
  options.default_limits.region = config.region;  // the builtin provider runs here
  for (const ProviderConfig& p : config.providers) {
    models::ProviderLimits limits;
    limits.max_in_flight = p.max_concurrency;
    limits.attempt_timeout = std::chrono::milliseconds(p.timeout_ms);
    limits.region = p.region.empty() ? config.region : p.region;
    options.provider_limits[p.name] = limits;
  }
  return options;
}

}  // namespace

absl::StatusOr<Gateway> BuildGateway(const Config& config, net::Server& server,
                                     metrics::Registry& registry) {
  Gateway gateway;
  std::vector<boost::asio::io_context*> contexts;
  for (size_t i = 0; i < server.io_threads(); ++i) contexts.push_back(&server.io_context(i));
  auto clients = net::ClientSet::Create(contexts, config.http_client);
  if (!clients.ok()) return clients.status();
  gateway.clients = *std::move(clients);

  gateway.providers = std::make_unique<models::ProviderRegistry>();
  absl::Status s = gateway.providers->Register(std::make_unique<models::BuiltinProvider>());
  if (!s.ok()) return s;
  for (const ProviderConfig& p : config.providers) {
    auto provider = MakeProvider(p, *gateway.clients);
    if (!provider.ok()) return provider.status();
    s = gateway.providers->Register(*std::move(provider));
    if (!s.ok()) return s;
  }

  models::CatalogConfig catalog;
  catalog.default_provider = config.default_provider;
  for (const ModelAliasConfig& alias : config.model_aliases) {
    models::AliasConfig a{alias.name, {}};
    for (const auto& t : alias.targets) a.targets.push_back({t.provider, t.model});
    catalog.aliases.push_back(std::move(a));
  }
  if (config.model_aliases.empty() && config.default_provider.empty()) {
    catalog.aliases = EmbeddedAliases();
  }
  for (models::AliasConfig& a : BuiltinAliases()) {
    const bool taken = std::any_of(catalog.aliases.begin(), catalog.aliases.end(),
                                   [&](const models::AliasConfig& c) { return c.name == a.name; });
    if (!taken) catalog.aliases.push_back(std::move(a));
  }
  auto router = models::Router::Create(*gateway.providers, std::move(catalog),
                                       RouterOptionsFrom(config), registry);
  if (!router.ok()) return router.status();
  gateway.router = *std::move(router);
  gateway.metrics = std::make_unique<api::GatewayMetrics>(registry);
  return gateway;
}

void AddGatewayRoutes(Gateway& gateway, tenancy::ModelGate& gate, net::Router& routes,
                      metrics::Registry& registry) {
  api::GatewayDeps deps;
  deps.router = &gate;
  deps.registry = &registry;
  api::AddOpenAiRoutes(routes, deps, *gateway.metrics);
  api::AddAnthropicRoutes(routes, deps, *gateway.metrics);
  api::AddBedrockRoutes(routes, deps, *gateway.metrics);
}

}  // namespace basalt::app
