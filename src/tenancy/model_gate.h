// ModelGate: the one metering point every model call basalt makes on a
// tenant's behalf passes through — the gateway routes, the async workers and
// batches, and later RAG, agents and analytics. It stands in front of the
// Router with the same calls and applies the tenant's policy:
//
//   1. model access: a request that names no model gets the tenant's default;
//      a model outside the tenant's allowed patterns is 403 model_not_allowed
//      (an unknown one is the Router's 404 model_not_found);
//   2. max_tokens: capped at the tenant's cap; when the tenant has a budget
//      and the request sets none, it is set (so the worst case is bounded);
//   3. input guardrails: BLOCK answers the configured message with stop
//      reason content_filtered and no model call; ANONYMIZE rewrites the text;
//   4. rate limits: token buckets for requests/min and tokens/min of the
//      tenant and of the API key (429 rate_limit_exceeded with Retry-After and
//      x-ratelimit-* headers), then the tenant's concurrent-request cap;
//   5. budget: the worst case (input upper bound + max_tokens at the model's
//      price) is reserved before the call, settled to the actual usage after
//      it, released on failure or cancel; a refusal is 429 budget_exceeded;
//   6. residency: ctx.region is set from the tenant, so the Router only uses
//      providers of that region;
//   7. output guardrails, on whole answers and on streams (StreamScanner:
//      holds back only the bytes a match could still need);
//   8. usage: requests, tokens, cost and errors per tenant, key and model.
//
// The input upper bound counts one token per UTF-8 byte of text (no tokenizer
// makes a token of less than a byte) plus a per-message overhead, so a
// reservation is never smaller than what the call can cost.
//
// Thread-safety: all methods may be called concurrently from any io thread;
// nothing here blocks (the usage store and audit log buffer in memory).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "absl/status/statusor.h"
#include "core/context.h"
#include "core/metrics.h"
#include "models/provider.h"
#include "models/router/router.h"
#include "tenancy/directory.h"
#include "tenancy/limits/budget_ledger.h"
#include "tenancy/limits/bounded_labels.h"
#include "tenancy/limits/concurrency_limiter.h"
#include "tenancy/limits/price_table.h"
#include "tenancy/limits/rate_limiter.h"
#include "tenancy/limits/usage_store.h"

namespace basalt::tenancy {

// A policy refusal or intervention worth an audit entry (budget refusals,
// guardrail blocks).
using GateAuditHook = std::function<void(const RequestContext& ctx, std::string_view action,
                                         std::string_view resource, std::string_view reason)>;

struct GateOptions {
  // max_tokens set on requests that name none when the tenant has a budget.
  int64_t default_max_tokens = 4096;
  // Per-message token overhead in the input upper bound (role markers etc.).
  int64_t per_message_tokens = 16;
  // Tokens an image may cost in the upper bound.
  int64_t per_image_tokens = 2048;
  // Tenants with their own label in the gate's metrics; the rest are "other".
  size_t tenant_labels = 50;
};

struct GateDeps {
  models::Router* router = nullptr;
  const Directory* directory = nullptr;        // null: every tenant has the default policy
  limits::RateLimiter* rates = nullptr;
  limits::ConcurrencyLimiter* concurrency = nullptr;
  limits::BudgetLedger* budgets = nullptr;
  const limits::PriceTable* prices = nullptr;  // null: every model is free
  limits::UsageStore* usage = nullptr;         // null: usage is not recorded
  metrics::Registry* registry = nullptr;
  GateAuditHook audit;
  // Told when a guardrail intervened (app/ publishes a "Guardrail Intervened"
  // event): which side, BLOCKED or ANONYMIZED, and what it acted on (entity
  // type names, never the matched text).
  std::function<void(const RequestContext& ctx, std::string_view model, std::string_view source,
                     std::string_view action, const std::set<std::string>& what)>
      guardrail_event;
  const Clock* clock = &RealClock::Instance();
};

struct GateMetrics;
struct Intervention;

class ModelGate final : public models::ModelProvider {
 public:
  ModelGate(GateDeps deps, GateOptions options = {});
  ~ModelGate() override;

  std::string_view name() const override { return "gate"; }

  // The Router's calls, with the policy above around them.
  boost::asio::awaitable<absl::StatusOr<models::ChatResponse>> Chat(
      const RequestContext& ctx, models::ChatRequest request, models::UpstreamTiming* timing);
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<models::ChatStream>>> StreamChat(
      const RequestContext& ctx, models::ChatRequest request, models::UpstreamTiming* timing);
  boost::asio::awaitable<absl::StatusOr<models::EmbeddingResponse>> Embed(
      const RequestContext& ctx, models::EmbeddingRequest request,
      models::UpstreamTiming* timing);

  // ModelProvider (the async workers call these).
  boost::asio::awaitable<absl::StatusOr<models::ChatResponse>> Chat(
      const RequestContext& ctx, const models::ChatRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<models::ChatStream>>> StreamChat(
      const RequestContext& ctx, const models::ChatRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<models::EmbeddingResponse>> Embed(
      const RequestContext& ctx, const models::EmbeddingRequest& request) override;
  // The Router's list, less the models the tenant may not use.
  boost::asio::awaitable<absl::StatusOr<std::vector<models::ModelInfo>>> ListModels(
      const RequestContext& ctx) override;

  // The tenant's policy (the default one for tenants the directory does not know).
  TenantPtr PolicyFor(std::string_view tenant) const;
  // Gives these tenants (the top ones by usage) their metric labels first.
  void SeedTenantLabels(const std::vector<std::string>& tenants);

  struct Admission;  // what a call holds while it runs (gate_admission.h)

 private:
  // The steps before a chat call: model policy, input guardrails, admission.
  // A blocked input sets `blocked_message` (no admission: nothing is charged).
  struct Prepared {
    TenantPtr tenant;
    std::unique_ptr<Admission> admission;
    std::optional<std::string> blocked_message;
  };
  absl::StatusOr<Prepared> Prepare(const RequestContext& ctx, models::ChatRequest& request);
  absl::StatusOr<std::unique_ptr<Admission>> Admit(const RequestContext& ctx, const Tenant& tenant,
                                                   std::string_view model, int64_t input_bound,
                                                   int64_t max_output);
  void Finish(Admission& admission, const absl::Status& status, const models::Usage& usage);
  void Intervened(const RequestContext& ctx, std::string_view model, std::string_view source,
                  const Intervention& intervention);

  const GateDeps deps_;
  const GateOptions options_;
  const TenantPtr default_tenant_;
  std::unique_ptr<GateMetrics> metrics_;
  friend class GatedStream;
  friend std::unique_ptr<models::ChatStream> MakeGatedStream(ModelGate& gate,
                                                             std::unique_ptr<Admission> admission,
                                                             std::unique_ptr<models::ChatStream> inner,
                                                             TenantPtr tenant);
};

// Worst-case input tokens of a request (see the header comment).
int64_t InputUpperBound(const models::ChatRequest& request, const GateOptions& options);

}  // namespace basalt::tenancy
