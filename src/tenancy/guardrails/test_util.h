// Test helpers: a policy from JSON text, and the matches of one entity type.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tenancy/guardrails/policy.h"

namespace basalt::guardrails {

inline Policy PolicyFrom(std::string_view json_text) {
  absl::StatusOr<Policy> policy = Policy::FromJson(nlohmann::json::parse(json_text));
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : Policy();
}

// A policy reporting (NONE) every built-in entity type.
inline const Policy& DetectAll() {
  static const Policy policy = PolicyFrom(R"({"pii": {
      "EMAIL": "NONE", "PHONE": "NONE", "US_SOCIAL_SECURITY_NUMBER": "NONE",
      "CREDIT_DEBIT_CARD_NUMBER": "NONE", "INTERNATIONAL_BANK_ACCOUNT_NUMBER": "NONE",
      "IP_ADDRESS": "NONE", "AWS_ACCESS_KEY": "NONE", "AWS_SECRET_KEY": "NONE"}})");
  return policy;
}

// "TYPE:match" for every finding.
inline std::vector<std::string> Found(const Policy& policy, std::string_view text) {
  std::vector<std::string> out;
  for (const Finding& f : policy.Scan(text, Source::kInput).findings) {
    out.push_back(f.name + ":" + f.match);
  }
  return out;
}

}  // namespace basalt::guardrails
