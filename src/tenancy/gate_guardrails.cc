#include "tenancy/gate_guardrails.h"

#include <map>
#include <optional>

#include "core/ids.h"
#include "core/status.h"
#include "core/strings.h"
#include "tenancy/gate_admission.h"
#include "tenancy/guardrails/stream_scanner.h"

namespace basalt::tenancy {

namespace asio = boost::asio;
using models::ChatDelta;
using models::ContentBlock;

absl::Status ModelNotAllowed(const Tenant& tenant, std::string_view model) {
  return WithErrorCode(
      absl::PermissionDeniedError(StrCat("model '", model, "' is not allowed for tenant '",
                                         tenant.name, "' (allowed: ",
                                         StrJoin(tenant.allowed_models, ", "), ")")),
      "model_not_allowed");
}

absl::Status ApplyModelPolicy(const Tenant& tenant, models::ChatRequest& request,
                              const GateOptions& options) {
  if (request.model.empty()) {
    if (tenant.default_model.empty()) return absl::InvalidArgumentError("model: is required");
    request.model = tenant.default_model;
  }
  if (!tenant.AllowsModel(request.model)) return ModelNotAllowed(tenant, request.model);
  if (request.max_tokens.has_value() && *request.max_tokens < 1) {
    return absl::InvalidArgumentError("max_tokens: must be at least 1");
  }
  if (tenant.max_tokens > 0 && (!request.max_tokens || *request.max_tokens > tenant.max_tokens)) {
    request.max_tokens = tenant.max_tokens;
  }
  const bool budgeted =
      tenant.budgets.tokens_per_month > 0 || tenant.budgets.cost_micros_per_month > 0 ||
      tenant.limits.tokens_per_minute > 0;
  if (budgeted && !request.max_tokens) request.max_tokens = options.default_max_tokens;
  return absl::OkStatus();
}

void Intervention::Add(const guardrails::Assessment& a) {
  blocked = blocked || a.blocked;
  anonymized = anonymized || a.anonymized;
  for (const guardrails::Finding& f : a.findings) {
    if (f.action == guardrails::Action::kNone) continue;
    what.insert(f.kind == guardrails::Finding::Kind::kPii
                    ? std::string(guardrails::EntityTypeName(f.type))
                    : StrCat(f.kind == guardrails::Finding::Kind::kRegex ? "regex:" : "word:",
                             f.kind == guardrails::Finding::Kind::kRegex ? f.name : "denied"));
  }
}

namespace {

// Applies the policy to one text in place.
void GuardText(const guardrails::Policy& policy, guardrails::Source source, std::string& text,
               Intervention& out) {
  if (text.empty()) return;
  guardrails::Assessment a = policy.Scan(text, source);
  out.Add(a);
  if (!a.blocked && a.anonymized) text = std::move(a.text);
}

void GuardBlocks(const guardrails::Policy& policy, guardrails::Source source,
                 std::vector<ContentBlock>& blocks, Intervention& out) {
  for (ContentBlock& b : blocks) {
    if (out.blocked) return;
    if (b.type == ContentBlock::Type::kText) GuardText(policy, source, b.text, out);
    if (b.type == ContentBlock::Type::kToolResult) {
      GuardBlocks(policy, source, b.tool_result.content, out);
    }
  }
}

}  // namespace

Intervention GuardInput(const Tenant& tenant, models::ChatRequest& request) {
  Intervention out;
  const guardrails::Policy* policy = tenant.guardrail_policy.get();
  if (policy == nullptr) return out;
  const auto in = guardrails::Source::kInput;
  GuardText(*policy, in, request.system, out);
  for (auto& m : request.messages) GuardBlocks(*policy, in, m.content, out);
  if (out.blocked) out.message = policy->blocked_input_message();
  return out;
}

Intervention GuardOutput(const Tenant& tenant, models::ChatResponse& response) {
  Intervention out;
  const guardrails::Policy* policy = tenant.guardrail_policy.get();
  if (policy == nullptr) return out;
  GuardBlocks(*policy, guardrails::Source::kOutput, response.content, out);
  if (!out.blocked) return out;
  out.message = policy->blocked_output_message();
  response.content = {ContentBlock::Text(out.message)};
  response.stop_reason = models::StopReason::kContentFiltered;
  return out;
}

models::ChatResponse BlockedResponse(std::string_view model, std::string_view message) {
  models::ChatResponse r;
  r.id = NewId("guardrail_");
  r.model = std::string(model);
  r.content = {ContentBlock::Text(std::string(message))};
  r.stop_reason = models::StopReason::kContentFiltered;
  return r;
}

namespace {

// Replays a fixed list of deltas.
class ReplayStream final : public models::ChatStream {
 public:
  explicit ReplayStream(std::vector<ChatDelta> deltas) : deltas_(std::move(deltas)) {}
  asio::awaitable<absl::StatusOr<std::optional<ChatDelta>>> Next() override {
    if (next_ >= deltas_.size()) co_return std::optional<ChatDelta>();
    co_return std::optional<ChatDelta>(std::move(deltas_[next_++]));
  }

 private:
  std::vector<ChatDelta> deltas_;
  size_t next_ = 0;
};

// The deltas that close a stream with `text` and content_filtered from block `index`.
void AppendFiltered(std::vector<ChatDelta>& out, int index, bool open_block, std::string text) {
  if (open_block) {
    ChatDelta start;
    start.type = ChatDelta::Type::kBlockStart;
    start.index = index;
    out.push_back(std::move(start));
  }
  ChatDelta t;
  t.type = ChatDelta::Type::kTextDelta;
  t.index = index;
  t.text = std::move(text);
  out.push_back(std::move(t));
  ChatDelta stop;
  stop.type = ChatDelta::Type::kBlockStop;
  stop.index = index;
  out.push_back(std::move(stop));
  ChatDelta end;
  end.type = ChatDelta::Type::kMessageStop;
  end.stop_reason = models::StopReason::kContentFiltered;
  out.push_back(std::move(end));
}

}  // namespace

std::unique_ptr<models::ChatStream> BlockedStream(std::string_view model, std::string message) {
  std::vector<ChatDelta> deltas;
  ChatDelta start;
  start.type = ChatDelta::Type::kMessageStart;
  start.id = NewId("guardrail_");
  start.model = std::string(model);
  deltas.push_back(std::move(start));
  AppendFiltered(deltas, 0, true, std::move(message));
  ChatDelta usage;
  usage.type = ChatDelta::Type::kUsage;
  deltas.push_back(std::move(usage));
  return std::make_unique<ReplayStream>(std::move(deltas));
}

// Scans text deltas per block through a StreamScanner, emitting only what is
// safe; on a block, ends the stream with the blocked-output message.
class GatedStream final : public models::ChatStream {
 public:
  GatedStream(ModelGate& gate, std::unique_ptr<ModelGate::Admission> admission,
              std::unique_ptr<models::ChatStream> inner, TenantPtr tenant)
      : gate_(gate), admission_(std::move(admission)), inner_(std::move(inner)),
        tenant_(std::move(tenant)) {}

  ~GatedStream() override {
    // Dropped before the end: charge the reserved worst case (the upstream may
    // have produced tokens it never reported), so spend is never undercounted.
    gate_.Finish(*admission_, absl::OkStatus(), usage_.value_or(admission_->worst));
  }

  asio::awaitable<absl::StatusOr<std::optional<ChatDelta>>> Next() override {
    for (;;) {
      if (!pending_.empty()) {
        ChatDelta d = std::move(pending_.front());
        pending_.erase(pending_.begin());
        co_return std::optional<ChatDelta>(std::move(d));
      }
      if (done_) {
        gate_.Finish(*admission_, absl::OkStatus(), usage_.value_or(admission_->worst));
        co_return std::optional<ChatDelta>();
      }
      auto next = co_await inner_->Next();
      if (!next.ok()) {
        gate_.Finish(*admission_, absl::OkStatus(), usage_.value_or(admission_->worst));
        co_return next.status();
      }
      if (!next->has_value()) {
        done_ = true;
        continue;
      }
      Handle(**std::move(next));
    }
  }

 private:
  const guardrails::Policy* policy() const { return tenant_->guardrail_policy.get(); }

  void EmitText(int index, std::string text) {
    if (text.empty()) return;
    ChatDelta d;
    d.type = ChatDelta::Type::kTextDelta;
    d.index = index;
    d.text = std::move(text);
    pending_.push_back(std::move(d));
  }

  void Block(int index, bool block_open) {
    blocked_ = true;
    Intervention i;
    i.blocked = true;
    for (const auto& [_, scanner] : scanners_) {
      for (const guardrails::Finding& f : scanner.findings()) {
        if (f.action == guardrails::Action::kBlock) {
          i.what.insert(f.kind == guardrails::Finding::Kind::kPii
                            ? std::string(guardrails::EntityTypeName(f.type))
                            : f.name);
        }
      }
    }
    gate_.Intervened(admission_->ctx, admission_->model, "output", i);
    done_ = true;  // stop reading: what follows would not reach the client
    AppendFiltered(pending_, index, !block_open, policy()->blocked_output_message());
  }

  void Handle(ChatDelta d) {
    if (d.type == ChatDelta::Type::kUsage) {
      usage_ = d.usage;
      pending_.push_back(std::move(d));
      return;
    }
    if (blocked_) return;  // the stream already ended for the client
    if (policy() == nullptr) {
      pending_.push_back(std::move(d));
      return;
    }
    switch (d.type) {
      case ChatDelta::Type::kBlockStart:
        if (!d.is_tool) scanners_.try_emplace(d.index, *policy(), guardrails::Source::kOutput);
        pending_.push_back(std::move(d));
        return;
      case ChatDelta::Type::kTextDelta: {
        auto it = scanners_.find(d.index);
        if (it == scanners_.end()) {
          it = scanners_.try_emplace(d.index, *policy(), guardrails::Source::kOutput).first;
        }
        std::string safe = it->second.Feed(d.text);
        if (it->second.blocked()) return Block(d.index, true);
        EmitText(d.index, std::move(safe));
        return;
      }
      case ChatDelta::Type::kBlockStop: {
        auto it = scanners_.find(d.index);
        if (it != scanners_.end()) {
          std::string rest = it->second.Finish();
          if (it->second.blocked()) return Block(d.index, true);
          EmitText(d.index, std::move(rest));
        }
        pending_.push_back(std::move(d));
        return;
      }
      case ChatDelta::Type::kMessageStop:
        for (auto& [index, scanner] : scanners_) {
          if (scanner.finished()) continue;
          std::string rest = scanner.Finish();
          if (scanner.blocked()) return Block(index, true);
          EmitText(index, std::move(rest));
        }
        pending_.push_back(std::move(d));
        return;
      default:
        pending_.push_back(std::move(d));
        return;
    }
  }

  ModelGate& gate_;
  std::unique_ptr<ModelGate::Admission> admission_;
  std::unique_ptr<models::ChatStream> inner_;
  TenantPtr tenant_;
  std::map<int, guardrails::StreamScanner> scanners_;
  std::vector<ChatDelta> pending_;
  std::optional<models::Usage> usage_;
  bool blocked_ = false;
  bool done_ = false;
};

std::unique_ptr<models::ChatStream> MakeGatedStream(ModelGate& gate,
                                                    std::unique_ptr<ModelGate::Admission> admission,
                                                    std::unique_ptr<models::ChatStream> inner,
                                                    TenantPtr tenant) {
  return std::make_unique<GatedStream>(gate, std::move(admission), std::move(inner),
                                       std::move(tenant));
}

}  // namespace basalt::tenancy
