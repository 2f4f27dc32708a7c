#include "models/builtin/schema_filler.h"

#include <gtest/gtest.h>

#include <string>

namespace basalt::models::builtin {
namespace {

using nlohmann::json;

// A small validator for the keywords these tests use: type, enum, const,
// required, properties, items, minItems, minimum/maximum (and exclusive),
// minLength/maxLength, $ref into the root.
bool Valid(const json& schema, const json& value, const json& root) {
  if (!schema.is_object()) return true;
  if (schema.contains("$ref")) {
    const std::string ref = schema["$ref"];
    return Valid(root[json::json_pointer(ref.substr(1))], value, root);
  }
  if (schema.contains("anyOf")) {
    for (const auto& alt : schema["anyOf"]) {
      if (Valid(alt, value, root)) return true;
    }
    return false;
  }
  if (schema.contains("const") && value != schema["const"]) return false;
  if (schema.contains("enum")) {
    bool found = false;
    for (const auto& e : schema["enum"]) found = found || e == value;
    if (!found) return false;
  }
  const std::string type = schema.value("type", "");
  if (type == "object") {
    if (!value.is_object()) return false;
    for (const auto& r : schema.value("required", json::array())) {
      if (!value.contains(r.get<std::string>())) return false;
    }
    const json props = schema.value("properties", json::object());
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (props.contains(it.key()) && !Valid(props[it.key()], it.value(), root)) return false;
    }
  } else if (type == "array") {
    if (!value.is_array() || value.size() < schema.value("minItems", 0u)) return false;
    for (const auto& item : value) {
      if (schema.contains("items") && !Valid(schema["items"], item, root)) return false;
    }
  } else if (type == "string") {
    if (!value.is_string()) return false;
    const size_t n = value.get<std::string>().size();
    if (n > schema.value("maxLength", 1u << 30) || n < schema.value("minLength", 0u)) return false;
  } else if (type == "integer" || type == "number") {
    if (type == "integer" ? !value.is_number_integer() : !value.is_number()) return false;
    const double v = value.get<double>();
    if (schema.contains("minimum") && v < schema["minimum"].get<double>()) return false;
    if (schema.contains("maximum") && v > schema["maximum"].get<double>()) return false;
    if (schema.contains("exclusiveMinimum") && v <= schema["exclusiveMinimum"].get<double>()) {
      return false;
    }
    if (schema.contains("exclusiveMaximum") && v >= schema["exclusiveMaximum"].get<double>()) {
      return false;
    }
  } else if (type == "boolean") {
    if (!value.is_boolean()) return false;
  } else if (type == "null") {
    if (!value.is_null()) return false;
  }
  return true;
}

const json kBookingSchema = json::parse(R"({
  "type": "object",
  "properties": {
    "destination": {"type": "string", "description": "city"},
    "travellers": {"type": "integer", "minimum": 1, "maximum": 9},
    "budget": {"type": "number", "exclusiveMinimum": 0},
    "refundable": {"type": "boolean"},
    "cabin": {"type": "string", "enum": ["economy", "business", "first"]},
    "notes": {"type": "string"},
    "contact": {
      "type": "object",
      "properties": {
        "email": {"type": "string", "format": "email"},
        "address": {
          "type": "object",
          "properties": {"city": {"type": "string", "maxLength": 4}, "zip": {"type": "string"}},
          "required": ["city"]
        }
      },
      "required": ["email", "address"]
    },
    "legs": {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/leg"}},
    "when": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date-time"}]}
  },
  "required": ["destination", "travellers", "budget", "refundable", "cabin", "contact", "legs",
               "when"],
  "$defs": {
    "leg": {"type": "object", "properties": {"from": {"type": "string", "minLength": 3},
            "mode": {"const": "air"}}, "required": ["from", "mode"]}
  }
})");

TEST(SchemaFiller, FillsRequiredPropertiesByRule) {
  const json input = FillFromSchema(kBookingSchema, "Fly me to Paris");
  EXPECT_TRUE(Valid(kBookingSchema, input, kBookingSchema)) << input.dump();
  EXPECT_EQ(input["destination"], "Fly me to Paris");
  EXPECT_EQ(input["travellers"], 1);
  EXPECT_TRUE(input["travellers"].is_number_integer());
  EXPECT_EQ(input["budget"], 1.0);
  EXPECT_EQ(input["refundable"], false);
  EXPECT_EQ(input["cabin"], "economy");
  EXPECT_FALSE(input.contains("notes"));  // optional: omitted
  EXPECT_EQ(input["contact"]["email"], "user@example.com");
  EXPECT_EQ(input["contact"]["address"], json({{"city", "Fly "}}));
  EXPECT_EQ(input["legs"], json::parse(R"([{"from":"Fly me to Paris","mode":"air"},
                                            {"from":"Fly me to Paris","mode":"air"}])"));
  EXPECT_EQ(input["when"], "1970-01-01T00:00:00Z");
  EXPECT_EQ(FillFromSchema(kBookingSchema, "Fly me to Paris"), input);  // deterministic
}

TEST(SchemaFiller, BoundsAndDefaults) {
  EXPECT_EQ(FillFromSchema(json::parse(R"({"type":"integer","maximum":-3})"), ""), -3);
  EXPECT_EQ(FillFromSchema(json::parse(R"({"type":"integer","exclusiveMinimum":2.5})"), ""), 3);
  EXPECT_EQ(FillFromSchema(json::parse(R"({"type":"number","minimum":0.5,"maximum":0.7})"), ""),
            0.5);
  EXPECT_EQ(FillFromSchema(json::parse(R"({"type":"string","minLength":3})"), "a"), "axx");
  EXPECT_EQ(FillFromSchema(json::parse(R"({"type":["null","string"]})"), "hi"), "hi");
  EXPECT_EQ(FillFromSchema(json::parse(R"({"type":"null"})"), "hi"), nullptr);
  EXPECT_EQ(FillFromSchema(json::parse(R"({"type":"array","items":{"type":"integer"}})"), "x"),
            json::array());
  EXPECT_EQ(FillFromSchema(
                json::parse(R"({"properties":{"a":{"type":"boolean"}},"required":["a"]})"), ""),
            json({{"a", false}}));
  const json all_of = json::parse(R"({"allOf":[
      {"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
      {"properties":{"b":{"enum":["x","y"]}},"required":["b"]}]})");
  EXPECT_EQ(FillFromSchema(all_of, ""), json({{"a", 0}, {"b", "x"}}));
}

TEST(SchemaFiller, MaxLengthCountsCharactersNotBytes) {
  const json value =
      FillFromSchema(json::parse(R"({"type":"string","maxLength":2})"), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(value, "\xC3\xA9t");
}

TEST(SchemaFiller, MalformedAndCyclicSchemasYieldAValue) {
  EXPECT_EQ(FillFromSchema(json("nonsense"), "q"), "q");
  EXPECT_EQ(FillFromSchema(json::parse(R"({"type":"object","required":"a"})"), "q"),
            json::object());
  EXPECT_EQ(
      FillFromSchema(json::parse(R"({"type":"object","required":[1,"a"],"properties":[]})"), "q"),
      json({{"a", "q"}}));
  EXPECT_EQ(FillFromSchema(json::parse(R"({"$ref":"#/nowhere/~1x"})"), "q"), "q");
  const json cyclic = json::parse(R"({"type":"object","properties":{"next":{"$ref":"#"}},
                                       "required":["next"]})");
  const json value = FillFromSchema(cyclic, "q");  // stops at the depth cap
  EXPECT_TRUE(value.is_object());
  const json loop = json::parse(R"({"$ref":"#"})");
  EXPECT_TRUE(FillFromSchema(loop, "q").is_null());
  EXPECT_EQ(FillFromSchema(json::parse(R"({"type":"array","minItems":1e12})"), "q").size(), 64u);
}

}  // namespace
}  // namespace basalt::models::builtin
