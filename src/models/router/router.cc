// Router: construction, name resolution and model listing. The call path
// (retries, fallbacks, timeouts) is in router_calls.cc.
#include "models/router/router.h"

#include <exception>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"
#include "models/router/router_internal.h"

namespace basalt::models {

namespace asio = boost::asio;
using router_internal::Leg;
using router_internal::ProviderState;
using router_internal::RouterMetrics;
using router_internal::RouteState;
using router_internal::TargetState;

std::vector<std::string> RouterOptions::Problems() const {
  std::vector<std::string> problems;
  auto check = [&](bool ok, std::string_view key, std::string_view rule) {
    if (!ok) problems.push_back(StrCat(key, ": ", rule));
  };
  check(retry.max_attempts >= 1, "router.max_attempts", "must be at least 1");
  check(retry.backoff.base.count() >= 0, "router.backoff_base_ms", "must not be negative");
  check(retry.backoff.cap >= retry.backoff.base, "router.backoff_cap_ms",
        "must not be less than router.backoff_base_ms");
  check(retry.attempt_timeout.count() >= 0, "router.attempt_timeout_ms", "must not be negative");
  check(retry.max_retry_wait.count() >= 0, "router.max_retry_wait_ms", "must not be negative");
  check(breaker.failure_threshold >= 0, "router.breaker_failures",
        "must not be negative (0 disables the breaker)");
  check(breaker.cool_down.count() >= 0, "router.breaker_cooldown_ms", "must not be negative");
  check(breaker.half_open_probes >= 1, "router.breaker_half_open_probes", "must be at least 1");
  check(saturated_retry_after.count() >= 0, "router.saturated_retry_after_ms",
        "must not be negative");
  auto check_limits = [&](const ProviderLimits& limits, const std::string& where) {
    check(limits.max_in_flight >= 0, where + ".max_concurrency",
          "must not be negative (0: unlimited)");
    check(limits.max_queue >= -1, where + ".max_queue", "must be -1 (unbounded) or more");
    check(limits.attempt_timeout.count() >= 0, where + ".timeout_ms", "must not be negative");
  };
  check_limits(default_limits, "router.default_limits");
  for (const auto& [provider, limits] : provider_limits) {
    check_limits(limits, "providers." + provider);
  }
  return problems;
}

absl::StatusOr<std::unique_ptr<Router>> Router::Create(
    const ProviderRegistry& providers, CatalogConfig catalog_config, RouterOptions options,
    metrics::Registry& metrics, const Clock& clock, std::unique_ptr<Random> random) {
  const std::vector<std::string> names = providers.Names();
  std::vector<std::string> problems = catalog_config.Problems(names);
  for (std::string& p : options.Problems()) problems.push_back(std::move(p));
  for (const auto& [provider, limit] : options.provider_limits) {
    if (providers.Find(provider) == nullptr) {
      problems.push_back(
          StrCat("providers.", provider, ": limits given for unknown provider '", provider, "'"));
    }
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  absl::StatusOr<Catalog> catalog = Catalog::Create(std::move(catalog_config), names);
  if (!catalog.ok()) return catalog.status();
  if (random == nullptr) random = SeededRandom::FromEntropy();
  return std::unique_ptr<Router>(new Router(providers, *std::move(catalog), std::move(options),
                                            metrics, clock, std::move(random)));
}

Router::Router(const ProviderRegistry& providers, Catalog catalog, RouterOptions options,
               metrics::Registry& metrics, const Clock& clock, std::unique_ptr<Random> random)
    : providers_(providers),
      catalog_(std::move(catalog)),
      options_(std::move(options)),
      clock_(clock),
      random_(std::move(random)),
      metrics_(std::make_unique<RouterMetrics>(metrics)) {
  BreakerConfig no_breaker;
  no_breaker.failure_threshold = 0;
  for (const std::string& name : providers_.Names()) {
    auto limits = options_.provider_limits.find(name);
    auto state = std::make_unique<ProviderState>(
        providers_.Find(name),
        limits == options_.provider_limits.end() ? options_.default_limits : limits->second,
        options_.retry.attempt_timeout, *metrics_);
    state->overflow_target =
        std::make_unique<TargetState>(state.get(), std::string(), no_breaker, clock_, nullptr);
    state->overflow_route = std::make_unique<RouteState>();
    state->overflow_route->label = "other";
    state->overflow_route->legs.push_back(Leg{state->overflow_target.get(),
                                              &metrics_->requests.With({"other", name, "ok"}),
                                              &metrics_->input_tokens.With({"other", name}),
                                              &metrics_->output_tokens.With({"other", name})});
    by_provider_.emplace(name, std::move(state));
  }
  absl::MutexLock lock(&mu_);
  for (const AliasConfig& alias : catalog_.config().aliases) {
    aliases_.emplace(alias.name, MakeRouteLocked(alias.name, alias.targets));
  }
}

Router::~Router() = default;

TargetState& Router::TargetLocked(ProviderState& provider, const std::string& model) {
  std::string key = StrCat(provider.name, "\x1f", model);
  auto it = targets_.find(key);
  if (it != targets_.end()) return *it->second;
  auto target =
      std::make_unique<TargetState>(&provider, model, options_.breaker, clock_,
                                    &metrics_->circuit_state.With({provider.name, model}));
  TargetState& ref = *target;
  targets_.emplace(std::move(key), std::move(target));
  return ref;
}

std::unique_ptr<RouteState> Router::MakeRouteLocked(std::string label,
                                                    const std::vector<TargetConfig>& targets) {
  auto route = std::make_unique<RouteState>();
  route->label = std::move(label);
  for (const TargetConfig& t : targets) {
    // Create() validated every provider name against the registry.
    ProviderState& provider = *by_provider_.at(t.provider);
    route->legs.push_back(Leg{&TargetLocked(provider, t.model),
                              &metrics_->requests.With({route->label, provider.name, "ok"}),
                              &metrics_->input_tokens.With({route->label, provider.name}),
                              &metrics_->output_tokens.With({route->label, provider.name})});
  }
  return route;
}

absl::StatusOr<Router::RouteRef> Router::Route(std::string_view model) {
  if (auto it = aliases_.find(ToAbsl(model)); it != aliases_.end()) {
    return RouteRef{it->second.get(), {}};
  }
  // A pattern alias ("anthropic.claude-*") routes every name it matches
  // through the one route of the pattern (its label is the pattern).
  if (const AliasConfig* alias = catalog_.FindPattern(model)) {
    return RouteRef{aliases_.at(alias->name).get(), {}};
  }
  absl::StatusOr<TargetConfig> target = catalog_.ResolveUnlisted(model);
  if (!target.ok()) return target.status();
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = dynamic_.find(ToAbsl(model)); it != dynamic_.end()) {
      return RouteRef{it->second.get(), {}};
    }
  }
  absl::MutexLock lock(&mu_);
  if (auto it = dynamic_.find(ToAbsl(model)); it != dynamic_.end()) {
    return RouteRef{it->second.get(), {}};
  }
  if (dynamic_.size() >= options_.max_dynamic_routes) {
    // Bounded memory and label cardinality whatever names clients invent.
    const ProviderState& provider = *by_provider_.at(target->provider);
    return RouteRef{provider.overflow_route.get(), std::move(target->model)};
  }
  std::vector<TargetConfig> targets{*std::move(target)};
  auto route = MakeRouteLocked(std::string(model), targets);
  const RouteState* ref = route.get();
  dynamic_.emplace(std::string(model), std::move(route));
  return RouteRef{ref, {}};
}

asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> Router::ListModels(
    const RequestContext& ctx) {
  std::vector<ModelInfo> models;
  absl::flat_hash_set<std::string> seen;
  for (const AliasConfig& alias : catalog_.config().aliases) {
    seen.insert(alias.name);
    models.push_back(ModelInfo{alias.name, alias.targets.front().provider, "basalt"});
  }
  for (const std::string& name : providers_.Names()) {
    ModelProvider& provider = *providers_.Find(name);
    auto call = [&ctx](ModelProvider& p, const std::string&) { return p.ListModels(ctx); };
    const auto left = ctx.Remaining(clock_.Steady());
    if (left <= std::chrono::milliseconds(0)) break;
    std::chrono::nanoseconds limit = left;
    const ProviderState& state = *by_provider_.at(name);
    if (state.attempt_timeout.count() > 0 && state.attempt_timeout < left) {
      limit = state.attempt_timeout;
    }
    absl::StatusOr<std::vector<ModelInfo>> listed;
    try {
      listed =
          co_await router_internal::RaceTimer<std::vector<ModelInfo>>(call, provider, name, limit);
    } catch (const std::exception&) {
      co_return absl::CancelledError("listing models cancelled");
    }
    if (!listed.ok()) {
      if (listed.status().code() == absl::StatusCode::kCancelled) co_return listed.status();
      continue;  // an unreachable provider must not hide everyone else's models
    }
    for (ModelInfo& info : *listed) {
      std::string id = StrCat(name, "/", info.id);
      if (!seen.insert(id).second) continue;
      models.push_back(
          ModelInfo{std::move(id), name, info.owned_by.empty() ? name : std::move(info.owned_by)});
    }
  }
  co_return models;
}

BreakerState Router::CircuitStateForTest(std::string_view provider, std::string_view model) {
  absl::MutexLock lock(&mu_);
  auto it = targets_.find(ToAbsl(StrCat(provider, "\x1f", model)));
  return it == targets_.end() ? BreakerState::kClosed : it->second->breaker.state();
}

int64_t Router::InFlightForTest(std::string_view provider) const {
  auto it = by_provider_.find(ToAbsl(provider));
  return it == by_provider_.end() ? 0 : it->second->semaphore.in_use();
}

}  // namespace basalt::models
