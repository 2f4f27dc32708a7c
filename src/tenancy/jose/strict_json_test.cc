#include "tenancy/jose/strict_json.h"

#include <gtest/gtest.h>

namespace basalt::jose {
namespace {

TEST(StrictJson, RejectsDuplicateNamesAtAnyDepth) {
  EXPECT_TRUE(ParseStrictJsonObject(R"({"a":1,"b":{"a":2}})", "x").ok());
  EXPECT_FALSE(ParseStrictJsonObject(R"({"a":1,"a":1})", "x").ok());
  EXPECT_FALSE(ParseStrictJsonObject(R"({"a":{"b":1,"b":2}})", "x").ok());
  EXPECT_FALSE(ParseStrictJsonObject(R"({"a":[{"c":1,"c":1}]})", "x").ok());
}

TEST(StrictJson, RejectsDeepNestingAndNonObjects) {
  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  EXPECT_FALSE(ParseStrictJson(deep, "x").ok());
  EXPECT_TRUE(ParseStrictJson(R"(["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["])", "x").ok());
  EXPECT_FALSE(ParseStrictJsonObject("[]", "x").ok());
  EXPECT_FALSE(ParseStrictJsonObject("{} {}", "x").ok());
  EXPECT_FALSE(ParseStrictJsonObject("{\"a\":\"\xff\"}", "x").ok());
  EXPECT_EQ(ParseStrictJsonObject("{", "claims").status().message(), "claims is not valid JSON");
}

}  // namespace
}  // namespace basalt::jose
