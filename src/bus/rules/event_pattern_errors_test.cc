// Invalid patterns are rejected with kInvalidArgument naming the field path and
// the operator, so an API caller can find the mistake.
#include <gtest/gtest.h>

#include <string>

#include "bus/rules/event_pattern.h"

namespace basalt::bus {
namespace {

// Returns the error message, or "OK" when the pattern parsed.
std::string ErrorOf(std::string_view pattern) {
  absl::StatusOr<EventPattern> p = EventPattern::Parse(pattern);
  if (p.ok()) return "OK";
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(p.status().message());
}

TEST(PatternErrorTest, NotJsonOrNotObject) {
  EXPECT_NE(ErrorOf("{").find("pattern: invalid JSON"), std::string::npos);
  EXPECT_EQ(ErrorOf("[]"), "pattern: must be a JSON object");
  EXPECT_EQ(ErrorOf("\"x\""), "pattern: must be a JSON object");
}

TEST(PatternErrorTest, LeafValuesMustBeArrays) {
  EXPECT_EQ(ErrorOf(R"({"source": "aws.ec2"})"), "source: pattern values must be arrays");
  EXPECT_EQ(ErrorOf(R"({"detail": {"n": 5}})"), "detail.n: pattern values must be arrays");
  EXPECT_EQ(ErrorOf(R"({"a": []})"), "a: pattern value arrays must not be empty");
  EXPECT_EQ(ErrorOf(R"({"a": {}})"), "a: pattern objects must not be empty");
  EXPECT_NE(ErrorOf(R"({"a": [["x"]]})").find("a: pattern array elements must be"),
            std::string::npos);
}

TEST(PatternErrorTest, UnknownOrMalformedOperator) {
  EXPECT_EQ(ErrorOf(R"({"a": [{"regex": ".*"}]})"), "a: unknown operator \"regex\"");
  EXPECT_NE(ErrorOf(R"({"a": [{"prefix": "x", "suffix": "y"}]})")
                .find("a: an operator object must have exactly one key"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"a": [{}]})").find("exactly one key"), std::string::npos);
}

TEST(PatternErrorTest, WrongOperandTypes) {
  EXPECT_EQ(ErrorOf(R"({"a": [{"prefix": 5}]})"),
            "a: prefix: expected a string or {\"equals-ignore-case\": string}, got 5");
  EXPECT_EQ(ErrorOf(R"({"a": [{"suffix": {"equals-ignore-case": 1}}]})"),
            "a: suffix: equals-ignore-case: expected a string, got 1");
  EXPECT_EQ(ErrorOf(R"({"a": [{"equals-ignore-case": ["x"]}]})"),
            "a: equals-ignore-case: expected a string, got [\"x\"]");
  EXPECT_EQ(ErrorOf(R"({"a": [{"exists": "yes"}]})"),
            "a: exists: expected true or false, got \"yes\"");
  EXPECT_EQ(ErrorOf(R"({"a": [{"cidr": 10}]})"), "a: cidr: expected a string, got 10");
  EXPECT_EQ(ErrorOf(R"({"a": [{"wildcard": null}]})"), "a: wildcard: expected a string, got null");
}

TEST(PatternErrorTest, AnythingBut) {
  EXPECT_EQ(ErrorOf(R"({"a": [{"anything-but": ["x", 1]}]})"),
            "a: anything-but: list must hold only strings or only numbers");
  EXPECT_EQ(ErrorOf(R"({"a": [{"anything-but": []}]})"), "a: anything-but: list must not be empty");
  EXPECT_EQ(ErrorOf(R"({"a": [{"anything-but": {"numeric": [">", 1]}}]})"),
            "a: anything-but: unsupported operator \"numeric\"");
  EXPECT_EQ(ErrorOf(R"({"a": [{"anything-but": {"prefix": 1}}]})"),
            "a: anything-but: prefix: expected a string, got 1");
  EXPECT_NE(ErrorOf(R"({"a": [{"anything-but": true}]})").find("a: anything-but: expected"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(R"({"a": [{"anything-but": {"wildcard": "a**"}}]})"),
            "a: anything-but: wildcard: consecutive wildcard characters are not allowed");
}

TEST(PatternErrorTest, Numeric) {
  EXPECT_EQ(ErrorOf(R"({"detail": {"total": [{"numeric": ["x", 1]}]}})"),
            "detail.total: numeric: expected comparison operator, got \"x\"");
  EXPECT_EQ(ErrorOf(R"({"n": [{"numeric": [">", "1"]}]})"),
            "n: numeric: expected a number after \">\", got \"1\"");
  EXPECT_EQ(ErrorOf(R"({"n": [{"numeric": [">"]}]})"),
            "n: numeric: expected a number after \">\", got nothing");
  EXPECT_EQ(ErrorOf(R"({"n": [{"numeric": [">", 1, "<", 5, "<", 6]}]})"),
            "n: numeric: at most 2 comparisons are allowed");
  EXPECT_EQ(ErrorOf(R"({"n": [{"numeric": [">", 1, ">=", 5]}]})"),
            "n: numeric: more than one lower bound");
  EXPECT_EQ(ErrorOf(R"({"n": [{"numeric": ["=", 1, "<", 5]}]})"),
            "n: numeric: \"=\" must be the only comparison");
  EXPECT_NE(ErrorOf(R"({"n": [{"numeric": [">", 5, "<", 1]}]})").find("inconsistent range"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"n": [{"numeric": [">", 5, "<=", 5]}]})").find("inconsistent range"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(R"({"n": [{"numeric": [">=", 5, "<=", 5]}]})"), "OK");
  EXPECT_NE(ErrorOf(R"({"n": [{"numeric": 5}]})").find("n: numeric: expected an array"),
            std::string::npos);
}

TEST(PatternErrorTest, Cidr) {
  EXPECT_EQ(ErrorOf(R"({"detail": {"ip": [{"cidr": "10.0.0.0/33"}]}})"),
            "detail.ip: cidr: invalid prefix \"10.0.0.0/33\"");
  EXPECT_EQ(ErrorOf(R"({"ip": [{"cidr": "10.0.0.256/8"}]})"),
            "ip: cidr: invalid address \"10.0.0.256/8\"");
  EXPECT_EQ(ErrorOf(R"({"ip": [{"cidr": "10.0.0.0"}]})"),
            "ip: cidr: expected address/prefix, got \"10.0.0.0\"");
  EXPECT_EQ(ErrorOf(R"({"ip": [{"cidr": "::/129"}]})"), "ip: cidr: invalid prefix \"::/129\"");
}

TEST(PatternErrorTest, Wildcard) {
  EXPECT_EQ(ErrorOf(R"({"a": [{"wildcard": "a**b"}]})"),
            "a: wildcard: consecutive wildcard characters are not allowed");
  EXPECT_NE(ErrorOf(R"({"a": [{"wildcard": "a\\b"}]})").find("a: wildcard: invalid escape"),
            std::string::npos);
}

TEST(PatternErrorTest, Or) {
  EXPECT_EQ(ErrorOf(R"({"$or": [{"a": ["x"]}]})"),
            "$or: must be an array of at least 2 pattern objects");
  EXPECT_EQ(ErrorOf(R"({"detail": {"$or": {"a": ["x"]}}})"),
            "detail.$or: must be an array of at least 2 pattern objects");
  EXPECT_EQ(ErrorOf(R"({"$or": [{"a": ["x"]}, "b"]})"), "$or[1]: must be a non-empty object");
  EXPECT_EQ(ErrorOf(R"({"$or": [{"a": ["x"]}, {"b": [{"numeric": ["<"]}]}]})"),
            "$or[1].b: numeric: expected a number after \"<\", got nothing");
}

TEST(PatternErrorTest, DepthLimit) {
  // kMaxDepth nested objects are fine; one more is rejected.
  std::string ok_pattern = "[\"x\"]";
  for (int i = 0; i < EventPattern::kMaxDepth; ++i) ok_pattern = "{\"a\":" + ok_pattern + "}";
  EXPECT_NE(ErrorOf("{\"a\":" + ok_pattern + "}").find("pattern nests deeper than 32 levels"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(ok_pattern), "OK");
  // Deep junk inside a leaf array is rejected without recursing through it.
  const std::string deep = std::string(20000, '[') + std::string(20000, ']');
  EXPECT_EQ(ErrorOf("{\"a\":[" + deep + "]}"),
            "a: pattern array elements must be strings, numbers, booleans, null or operator "
            "objects, got a nested array");
}

TEST(PatternErrorTest, SizeLimit) {
  const std::string big = "{\"a\":[\"" + std::string(EventPattern::kMaxTextBytes, 'x') + "\"]}";
  EXPECT_EQ(ErrorOf(big), "pattern: text exceeds 65536 bytes");
}

}  // namespace
}  // namespace basalt::bus
