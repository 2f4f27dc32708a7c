// Bedrock Guardrails wire shapes as pure functions (no HTTP): the
// ApplyGuardrail request and response, and Converse's trace.guardrail. Member
// names and enum spellings follow the botocore model bedrock-runtime
// 2023-09-30 (ApplyGuardrailRequest, ApplyGuardrailResponse, GuardrailAssessment,
// GuardrailSensitiveInformationPolicyAssessment, GuardrailWordPolicyAssessment,
// GuardrailTraceAssessment).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tenancy/guardrails/policy.h"
#include "tenancy/guardrails/types.h"

namespace basalt::guardrails {

struct ApplyGuardrailRequest {
  struct Text {
    std::string text;
    // False when the block's qualifiers are only grounding_source / query:
    // those feed contextual grounding, which basalt does not run, so they are
    // counted in guardrailCoverage but not scanned.
    bool guarded = true;
  };
  Source source = Source::kInput;
  std::vector<Text> texts;         // content[].text, in order
  int images = 0;                  // content[].image blocks: counted, not scanned
  bool full_output_scope = false;  // outputScope FULL (reported the same as INTERVENTIONS)
};

// The JSON body of POST /guardrail/{id}/version/{version}/apply (the path
// members are not read). Errors are kInvalidArgument naming the member, e.g.
// "content[1].text.text: must be a string".
absl::StatusOr<ApplyGuardrailRequest> ParseApplyGuardrailRequest(const nlohmann::json& body);

// One Assessment per request text, in order (unguarded texts pass unchanged).
std::vector<Assessment> ScanRequest(const Policy& policy, const ApplyGuardrailRequest& request);

// A GuardrailAssessment object for the findings of `assessments` (one scan
// per text): sensitiveInformationPolicy {piiEntities, regexes} and wordPolicy
// {customWords, managedWordLists} when they found something, and
// invocationMetrics {guardrailProcessingLatency, usage, guardrailCoverage}.
nlohmann::json RenderGuardrailAssessment(const Policy& policy,
                                         const std::vector<Assessment>& assessments,
                                         int64_t processing_latency_ms = 0);

// The ApplyGuardrailResponse: usage, action (NONE | GUARDRAIL_INTERVENED),
// actionReason, outputs (the blocked message, or every text with placeholders
// when anonymized, or [] when nothing intervened), assessments, guardrailCoverage.
nlohmann::json RenderApplyGuardrailResponse(const Policy& policy,
                                            const ApplyGuardrailRequest& request,
                                            const std::vector<Assessment>& assessments,
                                            int64_t processing_latency_ms = 0);

// Converse's trace.guardrail (GuardrailTraceAssessment): inputAssessment
// {id: assessment of the input}, outputAssessments {id: [assessment per
// output]}, modelOutput when given (trace "enabled_full"), actionReason.
nlohmann::json RenderConverseGuardrailTrace(std::string_view guardrail_id, const Policy& policy,
                                            const std::vector<Assessment>& input,
                                            const std::vector<Assessment>& output,
                                            const std::vector<std::string>& model_output = {});

}  // namespace basalt::guardrails
