#include "tenancy/model_gate.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"
#include "core/strings.h"
#include "tenancy/gate_admission.h"
#include "tenancy/gate_guardrails.h"
#include "tenancy/gate_metrics.h"

namespace basalt::tenancy {

namespace asio = boost::asio;
using models::ChatRequest;
using models::ChatResponse;

namespace {

int64_t BlockBytes(const models::ContentBlock& b, const GateOptions& options) {
  using T = models::ContentBlock::Type;
  switch (b.type) {
    case T::kText: return static_cast<int64_t>(b.text.size());
    case T::kJson: return static_cast<int64_t>(b.json.dump().size());
    case T::kImage: return options.per_image_tokens;
    case T::kToolUse:
      return static_cast<int64_t>(b.tool_use.name.size() + b.tool_use.input.dump().size());
    case T::kToolResult: {
      int64_t n = 0;
      for (const auto& c : b.tool_result.content) n += BlockBytes(c, options);
      return n;
    }
  }
  return 0;
}

int64_t UnixMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch())
      .count();
}

// The rate-limit headers OpenAI sends, from a grant.
absl::Status WithRateHeaders(absl::Status status, const limits::RateGrant& grant) {
  auto add = [&status](std::string_view what, const limits::LimitState& s) {
    if (s.limit <= 0) return;
    status = WithResponseHeader(std::move(status), StrCat("x-ratelimit-limit-", what),
                                std::to_string(s.limit));
    status = WithResponseHeader(std::move(status), StrCat("x-ratelimit-remaining-", what),
                                std::to_string(s.remaining));
    const int64_t ms = absl::ToInt64Milliseconds(s.reset);
    status = WithResponseHeader(std::move(status), StrCat("x-ratelimit-reset-", what),
                                StrCat(ms / 1000, ".", ms % 1000 / 100, "s"));
  };
  add("requests", grant.requests);
  add("tokens", grant.tokens);
  return status;
}

std::string_view RejectionReason(const absl::Status& s) {
  const std::string code = ErrorCodeOf(s);
  if (code == "budget_exceeded") return "budget_exceeded";
  if (code == "rate_limit_exceeded") return "rate_limited";
  if (code == "concurrency_limit_exceeded") return "concurrency";
  if (code == "model_not_allowed") return "model_not_allowed";
  if (code == "request_too_large") return "request_too_large";
  return "other";
}

}  // namespace

int64_t InputUpperBound(const ChatRequest& request, const GateOptions& options) {
  int64_t n = static_cast<int64_t>(request.system.size()) + options.per_message_tokens;
  for (const auto& m : request.messages) {
    n += options.per_message_tokens;
    for (const auto& b : m.content) n += BlockBytes(b, options);
  }
  for (const auto& t : request.tools) {
    n += static_cast<int64_t>(t.name.size() + t.description.size() + t.input_schema.dump().size());
  }
  return n;
}

ModelGate::ModelGate(GateDeps deps, GateOptions options)
    : deps_(std::move(deps)),
      options_(options),
      default_tenant_(std::make_shared<const Tenant>()),
      metrics_(deps_.registry
                   ? std::make_unique<GateMetrics>(*deps_.registry, options.tenant_labels)
                   : nullptr) {}

void ModelGate::SeedTenantLabels(const std::vector<std::string>& tenants) {
  if (metrics_) metrics_->tenants.Seed(tenants);
}

ModelGate::~ModelGate() = default;

TenantPtr ModelGate::PolicyFor(std::string_view tenant) const {
  if (deps_.directory != nullptr) {
    if (TenantPtr t = deps_.directory->Find(tenant)) return t;
  }
  return default_tenant_;
}

absl::StatusOr<std::unique_ptr<ModelGate::Admission>> ModelGate::Admit(
    const RequestContext& ctx, const Tenant& tenant, std::string_view model, int64_t input_bound,
    int64_t max_output) {
  auto a = std::make_unique<Admission>();
  a->ctx = ctx;
  a->ctx.region = tenant.region;
  a->model = std::string(model);
  a->tenant_key = StrCat("tenant:", ctx.tenant);
  a->tenant_limits = {tenant.limits.requests_per_minute, tenant.limits.tokens_per_minute};
  if (!ctx.key_id.empty()) {
    a->api_key = StrCat("key:", ctx.key_id);
    if (deps_.directory != nullptr) {
      if (ApiKeyPtr key = deps_.directory->FindKey(ctx.key_id)) {
        a->key_limits = {key->requests_per_minute, key->tokens_per_minute};
      }
    }
  }
  const int64_t worst_tokens = input_bound + max_output;
  if (deps_.rates != nullptr) {
    std::array<limits::RateKey, 2> keys;
    const size_t n = a->Keys(keys);
    limits::RateDecision d =
        deps_.rates->Admit(std::span<const limits::RateKey>(keys.data(), n), 1, worst_tokens);
    a->grant = d.grant;
    if (!d.ok()) {
      absl::Status s = WithRateHeaders(d.status, d.grant);
      if (d.status.code() == absl::StatusCode::kResourceExhausted) {
        s = WithResponseHeader(std::move(s), "Retry-After", std::to_string(d.RetryAfterSeconds()));
      }
      return s;
    }
    a->charged_tokens = worst_tokens;
  }
  a->worst = {input_bound, max_output};
  // From here on every early return must give the charged tokens back.
  auto refund = [&] {
    if (deps_.rates == nullptr || a->charged_tokens == 0) return;
    std::array<limits::RateKey, 2> keys;
    const size_t n = a->Keys(keys);
    deps_.rates->Adjust(std::span<const limits::RateKey>(keys.data(), n), -a->charged_tokens);
    a->charged_tokens = 0;
  };
  if (deps_.concurrency != nullptr && tenant.limits.concurrent_requests > 0) {
    auto permit = deps_.concurrency->TryAcquire(a->tenant_key, tenant.limits.concurrent_requests);
    if (!permit.ok()) {
      refund();
      return WithResponseHeader(
          WithErrorCode(absl::ResourceExhaustedError(StrCat(
                            "tenant '", ctx.tenant, "' has ", tenant.limits.concurrent_requests,
                            " requests in flight, its limit; retry when one ends")),
                        "concurrency_limit_exceeded"),
          "Retry-After", "1");
    }
    a->permit = *std::move(permit);
  }
  if (deps_.budgets != nullptr &&
      (tenant.budgets.tokens_per_month > 0 || tenant.budgets.cost_micros_per_month > 0)) {
    int64_t worst_cost = 0;
    if (deps_.prices != nullptr) {
      auto cost = deps_.prices->Cost(model, input_bound, max_output);
      if (cost.ok()) worst_cost = cost->total_micros();
    }
    limits::BudgetCaps caps{tenant.budgets.tokens_per_month, tenant.budgets.cost_micros_per_month};
    auto reservation = deps_.budgets->Reserve(ctx.tenant, caps, worst_tokens, worst_cost);
    if (!reservation.ok()) {
      refund();
      if (deps_.audit) deps_.audit(ctx, "budget.refused", a->model, ToStd(reservation.status().message()));
      return WithAwsErrorType(reservation.status(), "ServiceQuotaExceededException");
    }
    a->reservation = *std::move(reservation);
  }
  return a;
}

void ModelGate::Intervened(const RequestContext& ctx, std::string_view model,
                           std::string_view source, const Intervention& i) {
  const std::string what = StrJoin(std::vector<std::string>(i.what.begin(), i.what.end()), ",");
  if (i.blocked) {
    if (deps_.audit) deps_.audit(ctx, "guardrail.blocked", model, StrCat(source, ": ", what));
    if (metrics_) metrics_->Reject(ctx.tenant, "guardrail_blocked");
  }
  if (deps_.guardrail_event) {
    deps_.guardrail_event(ctx, model, source, i.blocked ? "BLOCKED" : "ANONYMIZED", i.what);
  }
}

void ModelGate::Finish(Admission& a, const absl::Status& status, const models::Usage& usage) {
  if (a.finished) return;
  a.finished = true;
  const int64_t actual_tokens = status.ok() ? usage.input_tokens + usage.output_tokens : 0;
  int64_t cost = 0;
  if (status.ok() && deps_.prices != nullptr) {
    auto c = deps_.prices->Cost(a.model, usage.input_tokens, usage.output_tokens);
    if (c.ok()) cost = c->total_micros();
  }
  if (deps_.rates != nullptr && a.charged_tokens != 0) {
    std::array<limits::RateKey, 2> keys;
    const size_t n = a.Keys(keys);
    deps_.rates->Adjust(std::span<const limits::RateKey>(keys.data(), n),
                        actual_tokens - a.charged_tokens);
  }
  if (a.reservation.active() && deps_.budgets != nullptr) {
    if (status.ok()) {
      deps_.budgets->Settle(a.reservation, actual_tokens, cost);
    } else {
      deps_.budgets->Release(a.reservation);
    }
  }
  a.permit.Release();
  if (deps_.usage != nullptr) {
    limits::UsageEvent e;
    e.tenant = a.ctx.tenant;
    e.key = a.ctx.key_id.empty() ? std::string_view(a.ctx.principal) : std::string_view(a.ctx.key_id);
    e.model = a.model;
    e.input_tokens = status.ok() ? usage.input_tokens : 0;
    e.output_tokens = status.ok() ? usage.output_tokens : 0;
    e.cost_micros = cost;
    e.error = !status.ok();
    deps_.usage->Record(e);
  }
  if (metrics_) metrics_->Observe(a.ctx.tenant, status, usage, cost);
}

absl::StatusOr<ModelGate::Prepared> ModelGate::Prepare(const RequestContext& ctx,
                                                      ChatRequest& request) {
  Prepared p;
  p.tenant = PolicyFor(ctx.tenant);
  if (absl::Status s = ApplyModelPolicy(*p.tenant, request, options_); !s.ok()) {
    if (metrics_) metrics_->Reject(ctx.tenant, RejectionReason(s));
    return s;
  }
  Intervention input = GuardInput(*p.tenant, request);
  if (input.any()) Intervened(ctx, request.model, "input", input);
  if (input.blocked) {
    p.blocked_message = std::move(input.message);
    return p;
  }
  auto admitted = Admit(ctx, *p.tenant, request.model, InputUpperBound(request, options_),
                        request.max_tokens.value_or(0));
  if (!admitted.ok()) {
    if (metrics_) metrics_->Reject(ctx.tenant, RejectionReason(admitted.status()));
    return admitted.status();
  }
  p.admission = *std::move(admitted);
  return p;
}

asio::awaitable<absl::StatusOr<ChatResponse>> ModelGate::Chat(const RequestContext& ctx,
                                                              ChatRequest request,
                                                              models::UpstreamTiming* timing) {
  auto prepared = Prepare(ctx, request);
  if (!prepared.ok()) co_return prepared.status();
  if (prepared->blocked_message) {
    co_return BlockedResponse(request.model, *prepared->blocked_message);
  }
  const TenantPtr tenant = prepared->tenant;
  Admission& a = *prepared->admission;
  auto answer = co_await deps_.router->Chat(a.ctx, std::move(request), timing);
  Finish(a, answer.status(), answer.ok() ? answer->usage : models::Usage{});
  if (!answer.ok()) co_return answer.status();
  Intervention output = GuardOutput(*tenant, *answer);
  if (output.any()) Intervened(ctx, answer->model, "output", output);
  co_return answer;
}

asio::awaitable<absl::StatusOr<std::unique_ptr<models::ChatStream>>> ModelGate::StreamChat(
    const RequestContext& ctx, ChatRequest request, models::UpstreamTiming* timing) {
  auto prepared = Prepare(ctx, request);
  if (!prepared.ok()) co_return prepared.status();
  if (prepared->blocked_message) {
    co_return BlockedStream(request.model, *std::move(prepared->blocked_message));
  }
  const TenantPtr tenant = prepared->tenant;
  std::unique_ptr<Admission> a = std::move(prepared->admission);
  auto stream = co_await deps_.router->StreamChat(a->ctx, std::move(request), timing);
  if (!stream.ok()) {
    Finish(*a, stream.status(), {});
    co_return stream.status();
  }
  co_return MakeGatedStream(*this, std::move(a), *std::move(stream), tenant);
}

asio::awaitable<absl::StatusOr<models::EmbeddingResponse>> ModelGate::Embed(
    const RequestContext& ctx, models::EmbeddingRequest request, models::UpstreamTiming* timing) {
  TenantPtr tenant = PolicyFor(ctx.tenant);
  if (request.model.empty()) request.model = tenant->default_model;
  if (!request.model.empty() && !tenant->AllowsModel(request.model)) {
    co_return ModelNotAllowed(*tenant, request.model);
  }
  int64_t bound = options_.per_message_tokens;
  for (const std::string& s : request.inputs) {
    bound += static_cast<int64_t>(s.size()) + options_.per_message_tokens;
  }
  auto admitted = Admit(ctx, *tenant, request.model, bound, 0);
  if (!admitted.ok()) {
    if (metrics_) metrics_->Reject(ctx.tenant, RejectionReason(admitted.status()));
    co_return admitted.status();
  }
  Admission& a = **admitted;
  auto answer = co_await deps_.router->Embed(a.ctx, std::move(request), timing);
  Finish(a, answer.status(), answer.ok() ? answer->usage : models::Usage{});
  co_return answer;
}

asio::awaitable<absl::StatusOr<ChatResponse>> ModelGate::Chat(const RequestContext& ctx,
                                                              const ChatRequest& request) {
  ChatRequest copy = request;  // named: see the coroutine pitfall in src/README.md
  co_return co_await Chat(ctx, std::move(copy), nullptr);
}

asio::awaitable<absl::StatusOr<std::unique_ptr<models::ChatStream>>> ModelGate::StreamChat(
    const RequestContext& ctx, const ChatRequest& request) {
  ChatRequest copy = request;
  co_return co_await StreamChat(ctx, std::move(copy), nullptr);
}

asio::awaitable<absl::StatusOr<models::EmbeddingResponse>> ModelGate::Embed(
    const RequestContext& ctx, const models::EmbeddingRequest& request) {
  models::EmbeddingRequest copy = request;
  co_return co_await Embed(ctx, std::move(copy), nullptr);
}

asio::awaitable<absl::StatusOr<std::vector<models::ModelInfo>>> ModelGate::ListModels(
    const RequestContext& ctx) {
  auto list = co_await deps_.router->ListModels(ctx);
  if (!list.ok()) co_return list;
  TenantPtr tenant = PolicyFor(ctx.tenant);
  std::erase_if(*list, [&](const models::ModelInfo& m) { return !tenant->AllowsModel(m.id); });
  co_return list;
}

}  // namespace basalt::tenancy
