#include "tenancy/guardrails/bedrock.h"

#include <utility>

#include "core/strings.h"

namespace basalt::guardrails {
namespace {

absl::Status MemberError(std::string_view member, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(member, ": ", what));
}

// GuardrailSensitiveInformationPolicyAction / GuardrailWordPolicyAction spelling.
std::string_view WireAction(Action action) {
  switch (action) {
    case Action::kAnonymize:
      return "ANONYMIZED";
    case Action::kBlock:
      return "BLOCKED";
    case Action::kNone:
      return "NONE";
  }
  return "NONE";
}

int64_t TextUnits(size_t characters) { return static_cast<int64_t>((characters + 999) / 1000); }

struct Totals {
  size_t characters = 0;
  bool blocked = false;
  bool anonymized = false;
};

Totals Sum(const std::vector<Assessment>& assessments) {
  Totals t;
  for (const Assessment& a : assessments) {
    t.characters += a.characters;
    t.blocked = t.blocked || a.blocked;
    t.anonymized = t.anonymized || a.anonymized;
  }
  return t;
}

nlohmann::json Usage(const Policy& policy, size_t characters) {
  bool sensitive = !policy.regexes().empty();
  for (int t = 0; t < kEntityTypeCount; ++t) {
    sensitive = sensitive || policy.pii(static_cast<EntityType>(t)).has_value();
  }
  const int64_t units = TextUnits(characters);
  return {{"topicPolicyUnits", 0},
          {"contentPolicyUnits", 0},
          {"wordPolicyUnits", policy.denied_words().empty() ? 0 : units},
          {"sensitiveInformationPolicyUnits", sensitive ? units : 0},
          {"sensitiveInformationPolicyFreeUnits", 0},
          {"contextualGroundingPolicyUnits", 0}};
}

nlohmann::json Coverage(size_t guarded, size_t total, int images) {
  nlohmann::json coverage = {{"textCharacters", {{"guarded", guarded}, {"total", total}}}};
  if (images > 0) coverage["images"] = {{"guarded", 0}, {"total", images}};
  return coverage;
}

std::string_view ActionReason(const Totals& t) {
  if (t.blocked) return "Guardrail blocked.";
  if (t.anonymized) return "Guardrail masked.";
  return "No action.";
}

}  // namespace

absl::StatusOr<ApplyGuardrailRequest> ParseApplyGuardrailRequest(const nlohmann::json& body) {
  if (!body.is_object()) return absl::InvalidArgumentError("body: must be a JSON object");
  ApplyGuardrailRequest request;
  const auto source = body.find("source");
  if (source == body.end()) return MemberError("source", "is required");
  if (*source == "INPUT") {
    request.source = Source::kInput;
  } else if (*source == "OUTPUT") {
    request.source = Source::kOutput;
  } else {
    return MemberError("source", "must be INPUT or OUTPUT");
  }
  if (const auto scope = body.find("outputScope"); scope != body.end()) {
    if (*scope == "FULL") {
      request.full_output_scope = true;
    } else if (*scope != "INTERVENTIONS") {
      return MemberError("outputScope", "must be INTERVENTIONS or FULL");
    }
  }
  const auto content = body.find("content");
  if (content == body.end()) return MemberError("content", "is required");
  if (!content->is_array()) return MemberError("content", "must be an array");
  for (size_t i = 0; i < content->size(); ++i) {
    const nlohmann::json& block = (*content)[i];
    const std::string member = StrCat("content[", i, "]");
    if (!block.is_object()) return MemberError(member, "must be an object");
    const auto text = block.find("text");
    const auto image = block.find("image");
    if ((text == block.end()) == (image == block.end())) {
      return MemberError(member, "needs exactly one of text or image");
    }
    if (image != block.end()) {
      if (!image->is_object()) return MemberError(StrCat(member, ".image"), "must be an object");
      ++request.images;
      continue;
    }
    if (!text->is_object()) return MemberError(StrCat(member, ".text"), "must be an object");
    const auto value = text->find("text");
    if (value == text->end()) return MemberError(StrCat(member, ".text.text"), "is required");
    if (!value->is_string()) return MemberError(StrCat(member, ".text.text"), "must be a string");
    ApplyGuardrailRequest::Text t{value->get<std::string>(), true};
    if (const auto qualifiers = text->find("qualifiers"); qualifiers != text->end()) {
      const std::string q_member = StrCat(member, ".text.qualifiers");
      if (!qualifiers->is_array()) return MemberError(q_member, "must be an array");
      bool guard_content = qualifiers->empty();
      for (size_t k = 0; k < qualifiers->size(); ++k) {
        const nlohmann::json& q = (*qualifiers)[k];
        if (q == "guard_content") {
          guard_content = true;
        } else if (q != "grounding_source" && q != "query") {
          return MemberError(StrCat(q_member, "[", k, "]"),
                             "must be grounding_source, query or guard_content");
        }
      }
      t.guarded = guard_content;
    }
    request.texts.push_back(std::move(t));
  }
  return request;
}

std::vector<Assessment> ScanRequest(const Policy& policy, const ApplyGuardrailRequest& request) {
  std::vector<Assessment> out;
  out.reserve(request.texts.size());
  for (const ApplyGuardrailRequest::Text& t : request.texts) {
    if (t.guarded) {
      out.push_back(policy.Scan(t.text, request.source));
    } else {
      Assessment pass;
      pass.text = t.text;
      out.push_back(std::move(pass));
    }
  }
  return out;
}

nlohmann::json RenderGuardrailAssessment(const Policy& policy,
                                         const std::vector<Assessment>& assessments,
                                         int64_t processing_latency_ms) {
  nlohmann::json pii = nlohmann::json::array();
  nlohmann::json regexes = nlohmann::json::array();
  nlohmann::json words = nlohmann::json::array();
  for (const Assessment& a : assessments) {
    for (const Finding& f : a.findings) {
      switch (f.kind) {
        case Finding::Kind::kPii:
          pii.push_back({{"match", f.match},
                         {"type", EntityTypeName(f.type)},
                         {"action", WireAction(f.action)},
                         {"detected", true}});
          break;
        case Finding::Kind::kRegex: {
          std::string pattern;
          for (const CustomRegex& r : policy.regexes()) {
            if (r.name == f.name) pattern = r.pattern;
          }
          regexes.push_back({{"name", f.name},
                             {"match", f.match},
                             {"regex", pattern},
                             {"action", WireAction(f.action)},
                             {"detected", true}});
          break;
        }
        case Finding::Kind::kDeniedWord:
          words.push_back(
              {{"match", f.match}, {"action", WireAction(f.action)}, {"detected", true}});
          break;
      }
    }
  }
  const Totals totals = Sum(assessments);
  nlohmann::json out = nlohmann::json::object();
  if (!pii.empty() || !regexes.empty()) {
    out["sensitiveInformationPolicy"] = {{"piiEntities", std::move(pii)},
                                         {"regexes", std::move(regexes)}};
  }
  if (!words.empty()) {
    out["wordPolicy"] = {{"customWords", std::move(words)},
                         {"managedWordLists", nlohmann::json::array()}};
  }
  out["invocationMetrics"] = {
      {"guardrailProcessingLatency", processing_latency_ms},
      {"usage", Usage(policy, totals.characters)},
      {"guardrailCoverage", Coverage(totals.characters, totals.characters, 0)}};
  return out;
}

nlohmann::json RenderApplyGuardrailResponse(const Policy& policy,
                                            const ApplyGuardrailRequest& request,
                                            const std::vector<Assessment>& assessments,
                                            int64_t processing_latency_ms) {
  const Totals totals = Sum(assessments);
  size_t total_chars = 0;
  for (const ApplyGuardrailRequest::Text& t : request.texts) {
    for (char c : t.text) total_chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }
  nlohmann::json outputs = nlohmann::json::array();
  if (totals.blocked) {
    outputs.push_back({{"text", policy.blocked_message(request.source)}});
  } else if (totals.anonymized) {
    for (const Assessment& a : assessments) outputs.push_back({{"text", a.text}});
  }
  nlohmann::json assessment = RenderGuardrailAssessment(policy, assessments, processing_latency_ms);
  nlohmann::json coverage = Coverage(totals.characters, total_chars, request.images);
  assessment["invocationMetrics"]["guardrailCoverage"] = coverage;
  return {{"usage", Usage(policy, totals.characters)},
          {"action", (totals.blocked || totals.anonymized) ? "GUARDRAIL_INTERVENED" : "NONE"},
          {"actionReason", ActionReason(totals)},
          {"outputs", std::move(outputs)},
          {"assessments", nlohmann::json::array({std::move(assessment)})},
          {"guardrailCoverage", std::move(coverage)}};
}

nlohmann::json RenderConverseGuardrailTrace(std::string_view guardrail_id, const Policy& policy,
                                            const std::vector<Assessment>& input,
                                            const std::vector<Assessment>& output,
                                            const std::vector<std::string>& model_output) {
  const std::string id(guardrail_id);
  nlohmann::json trace = nlohmann::json::object();
  if (!model_output.empty()) trace["modelOutput"] = model_output;
  if (!input.empty()) {
    trace["inputAssessment"] = {{id, RenderGuardrailAssessment(policy, input)}};
  }
  if (!output.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const Assessment& a : output) list.push_back(RenderGuardrailAssessment(policy, {a}));
    trace["outputAssessments"] = {{id, std::move(list)}};
  }
  Totals totals = Sum(input);
  const Totals out = Sum(output);
  totals.blocked = totals.blocked || out.blocked;
  totals.anonymized = totals.anonymized || out.anonymized;
  trace["actionReason"] = ActionReason(totals);
  return trace;
}

}  // namespace basalt::guardrails
