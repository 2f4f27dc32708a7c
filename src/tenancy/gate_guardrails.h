// The parts of ModelGate that look at content: the model policy (default
// model, allowed patterns, max_tokens), the input and output guardrails, and
// the stream wrapper that scans output as it flows and settles the call when
// the stream ends.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "models/provider.h"
#include "tenancy/model_gate.h"

namespace basalt::tenancy {

// Default model, allowed patterns (403 model_not_allowed), max_tokens cap;
// sets max_tokens when the tenant has a budget and the request sets none.
absl::Status ApplyModelPolicy(const Tenant& tenant, models::ChatRequest& request,
                              const GateOptions& options);
absl::Status ModelNotAllowed(const Tenant& tenant, std::string_view model);

// What a guardrail did to one side of a call: nothing, anonymized, or
// blocked, and which entity types, regexes or denied words it acted on (names
// only, never the matched text).
struct Intervention {
  bool blocked = false;
  bool anonymized = false;
  std::set<std::string> what;
  std::string message;  // when blocked: the tenant's configured message
  bool any() const { return blocked || anonymized; }
  void Add(const guardrails::Assessment& a);
};
// Scans every text the request sends; anonymizes in place.
Intervention GuardInput(const Tenant& tenant, models::ChatRequest& request);
// Scans the answer's text; anonymizes in place, or replaces it with the
// blocked-output message (stop reason content_filtered).
Intervention GuardOutput(const Tenant& tenant, models::ChatResponse& response);

// The answer to a blocked request: the message, stop reason content_filtered,
// no tokens.
models::ChatResponse BlockedResponse(std::string_view model, std::string_view message);
std::unique_ptr<models::ChatStream> BlockedStream(std::string_view model, std::string message);

// Wraps an admitted stream: output guardrails on its text, and the gate's
// Finish when it ends (with the usage it reported; with the reserved worst
// case when it failed midway or was dropped before reporting usage).
std::unique_ptr<models::ChatStream> MakeGatedStream(ModelGate& gate,
                                                    std::unique_ptr<ModelGate::Admission> admission,
                                                    std::unique_ptr<models::ChatStream> inner,
                                                    TenantPtr tenant);

}  // namespace basalt::tenancy
