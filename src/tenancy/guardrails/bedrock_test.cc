// ApplyGuardrail and Converse trace shapes, checked against the botocore model.
#include "tenancy/guardrails/bedrock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include "tenancy/guardrails/test_util.h"

namespace basalt::guardrails {
namespace {

using ::testing::HasSubstr;

const nlohmann::json& Model() {
  static const nlohmann::json model = [] {
    const std::string path = std::string(BASALT_CONFORMANCE_DIR) +
                             "/contracts/bedrock-runtime-2023-09-30.service-2.json";
    std::ifstream in(path);
    if (!in) {
      ADD_FAILURE() << "missing conformance file " << path;
      return nlohmann::json::object();
    }
    return nlohmann::json::parse(in);
  }();
  return model;
}

// Every member of `value` exists in `shape` (recursively), every required member
// is present, and every enum value is one of the model's.
void CheckShape(const nlohmann::json& value, const std::string& shape_name,
                const std::string& where) {
  const nlohmann::json& shapes = Model()["shapes"];
  ASSERT_TRUE(shapes.contains(shape_name)) << shape_name;
  const nlohmann::json& shape = shapes[shape_name];
  const std::string type = shape["type"];
  if (type == "structure") {
    ASSERT_TRUE(value.is_object()) << where;
    for (const auto& required : shape.value("required", nlohmann::json::array())) {
      EXPECT_TRUE(value.contains(required.get<std::string>())) << where << " lacks " << required;
    }
    for (const auto& [key, v] : value.items()) {
      ASSERT_TRUE(shape["members"].contains(key))
          << where << "." << key << " not in " << shape_name;
      CheckShape(v, shape["members"][key]["shape"], where + "." + key);
    }
  } else if (type == "list") {
    ASSERT_TRUE(value.is_array()) << where;
    for (size_t i = 0; i < value.size(); ++i) {
      CheckShape(value[i], shape["member"]["shape"], where + "[" + std::to_string(i) + "]");
    }
  } else if (type == "map") {
    ASSERT_TRUE(value.is_object()) << where;
    for (const auto& [key, v] : value.items())
      CheckShape(v, shape["value"]["shape"], where + "." + key);
  } else if (type == "string") {
    ASSERT_TRUE(value.is_string()) << where;
    if (shape.contains("enum")) {
      std::set<std::string> values(shape["enum"].begin(), shape["enum"].end());
      EXPECT_TRUE(values.count(value.get<std::string>())) << where << " = " << value;
    }
  } else if (type == "integer" || type == "long") {
    EXPECT_TRUE(value.is_number_integer()) << where;
  } else if (type == "boolean") {
    EXPECT_TRUE(value.is_boolean()) << where;
  }
}

const Policy& P() {
  static const Policy policy = PolicyFrom(R"({
    "pii": {"EMAIL": "ANONYMIZE", "US_SOCIAL_SECURITY_NUMBER": "BLOCK", "IP_ADDRESS": "NONE"},
    "regexes": [{"name": "employee_id", "pattern": "EMP-[0-9]{6}", "action": "ANONYMIZE"}],
    "denied_words": ["project zeus"],
    "blocked_input_message": "Blocked input.", "blocked_output_message": "Blocked output."})");
  return policy;
}

TEST(ApplyGuardrailRequest, Parses) {
  absl::StatusOr<ApplyGuardrailRequest> r = ParseApplyGuardrailRequest(nlohmann::json::parse(R"({
    "source": "OUTPUT", "outputScope": "FULL",
    "content": [{"text": {"text": "one"}},
                {"text": {"text": "ctx", "qualifiers": ["grounding_source"]}},
                {"image": {"format": "png", "source": {"bytes": "AAAA"}}}]})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source, Source::kOutput);
  EXPECT_TRUE(r->full_output_scope);
  ASSERT_EQ(r->texts.size(), 2u);
  EXPECT_TRUE(r->texts[0].guarded);
  EXPECT_FALSE(r->texts[1].guarded);
  EXPECT_EQ(r->images, 1);
}

TEST(ApplyGuardrailRequest, ErrorsNameTheMember) {
  auto error = [](std::string_view body) {
    absl::StatusOr<ApplyGuardrailRequest> r =
        ParseApplyGuardrailRequest(nlohmann::json::parse(body));
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  EXPECT_THAT(error(R"({"content": []})"), HasSubstr("source: is required"));
  EXPECT_THAT(error(R"({"source": "BOTH", "content": []})"), HasSubstr("source:"));
  EXPECT_THAT(error(R"({"source": "INPUT"})"), HasSubstr("content: is required"));
  EXPECT_THAT(error(R"({"source": "INPUT", "content": {}})"), HasSubstr("content:"));
  EXPECT_THAT(error(R"({"source": "INPUT", "content": [{"text": {"text": 1}}]})"),
              HasSubstr("content[0].text.text: must be a string"));
  EXPECT_THAT(error(R"({"source": "INPUT", "content": [{"text": {"text": "a"}}, {}]})"),
              HasSubstr("content[1]:"));
  EXPECT_THAT(
      error(R"({"source": "INPUT", "content": [{"text": {"text": "a", "qualifiers": ["x"]}}]})"),
      HasSubstr("content[0].text.qualifiers[0]:"));
  EXPECT_THAT(error(R"({"source": "INPUT", "outputScope": "ALL", "content": []})"),
              HasSubstr("outputScope:"));
  // The request shape itself: our member names are the model's.
  for (const char* member : {"source", "content", "outputScope"}) {
    EXPECT_TRUE(Model()["shapes"]["ApplyGuardrailRequest"]["members"].contains(member)) << member;
  }
}

ApplyGuardrailRequest Request(Source source, std::vector<std::string> texts) {
  ApplyGuardrailRequest r;
  r.source = source;
  for (auto& t : texts) r.texts.push_back({std::move(t), true});
  return r;
}

TEST(ApplyGuardrailResponse, Anonymized) {
  const ApplyGuardrailRequest req =
      Request(Source::kInput, {"mail bob@example.com from 10.0.0.1", "id EMP-123456"});
  const nlohmann::json resp = RenderApplyGuardrailResponse(P(), req, ScanRequest(P(), req), 7);
  CheckShape(resp, "ApplyGuardrailResponse", "response");
  EXPECT_EQ(resp["action"], "GUARDRAIL_INTERVENED");
  ASSERT_EQ(resp["outputs"].size(), 2u);
  EXPECT_EQ(resp["outputs"][0]["text"], "mail {EMAIL} from 10.0.0.1");
  EXPECT_EQ(resp["outputs"][1]["text"], "id {employee_id}");
  const nlohmann::json& sip = resp["assessments"][0]["sensitiveInformationPolicy"];
  ASSERT_EQ(sip["piiEntities"].size(), 2u);
  EXPECT_EQ(sip["piiEntities"][0], (nlohmann::json{{"match", "bob@example.com"},
                                                   {"type", "EMAIL"},
                                                   {"action", "ANONYMIZED"},
                                                   {"detected", true}}));
  EXPECT_EQ(sip["piiEntities"][1]["action"], "NONE");
  EXPECT_EQ(sip["regexes"][0], (nlohmann::json{{"name", "employee_id"},
                                               {"match", "EMP-123456"},
                                               {"regex", "EMP-[0-9]{6}"},
                                               {"action", "ANONYMIZED"},
                                               {"detected", true}}));
  EXPECT_EQ(resp["assessments"][0]["invocationMetrics"]["guardrailProcessingLatency"], 7);
  EXPECT_EQ(resp["guardrailCoverage"]["textCharacters"]["total"], 47);
  EXPECT_EQ(resp["usage"]["sensitiveInformationPolicyUnits"], 1);
}

TEST(ApplyGuardrailResponse, BlockedByWordAndNone) {
  const ApplyGuardrailRequest req = Request(Source::kOutput, {"about PROJECT zeus"});
  const nlohmann::json blocked = RenderApplyGuardrailResponse(P(), req, ScanRequest(P(), req));
  CheckShape(blocked, "ApplyGuardrailResponse", "response");
  EXPECT_EQ(blocked["action"], "GUARDRAIL_INTERVENED");
  EXPECT_EQ(blocked["outputs"], nlohmann::json::parse(R"([{"text": "Blocked output."}])"));
  EXPECT_EQ(blocked["assessments"][0]["wordPolicy"]["customWords"],
            nlohmann::json::parse(
                R"([{"match": "PROJECT zeus", "action": "BLOCKED", "detected": true}])"));
  EXPECT_EQ(blocked["actionReason"], "Guardrail blocked.");

  const ApplyGuardrailRequest clean = Request(Source::kInput, {"hello"});
  const nlohmann::json none = RenderApplyGuardrailResponse(P(), clean, ScanRequest(P(), clean));
  CheckShape(none, "ApplyGuardrailResponse", "response");
  EXPECT_EQ(none["action"], "NONE");
  EXPECT_EQ(none["outputs"], nlohmann::json::array());
}

TEST(ConverseTrace, MatchesTheModel) {
  const std::vector<Assessment> input = {P().Scan("ssn 123-45-6789", Source::kInput)};
  const std::vector<Assessment> output = {P().Scan("mail a@example.com", Source::kOutput)};
  const nlohmann::json trace =
      RenderConverseGuardrailTrace("gr1", P(), input, output, {"mail {EMAIL}"});
  CheckShape(trace, "GuardrailTraceAssessment", "trace.guardrail");
  EXPECT_EQ(
      trace["inputAssessment"]["gr1"]["sensitiveInformationPolicy"]["piiEntities"][0]["action"],
      "BLOCKED");
  EXPECT_EQ(
      trace["outputAssessments"]["gr1"][0]["sensitiveInformationPolicy"]["piiEntities"][0]["type"],
      "EMAIL");
  EXPECT_EQ(trace["modelOutput"][0], "mail {EMAIL}");
}

}  // namespace
}  // namespace basalt::guardrails
