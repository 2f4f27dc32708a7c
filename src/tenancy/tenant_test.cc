#include "tenancy/tenant.h"

#include <gtest/gtest.h>

#include "core/strings.h"
#include "tenancy/roles.h"

namespace basalt::tenancy {
namespace {

using nlohmann::json;

TEST(Tenant, ParsesEveryField) {
  auto t = ParseTenant(json::parse(R"({"name":"acme","status":"suspended",
    "models":{"allowed":["gpt-*","builtin*"],"default":"builtin","max_tokens":512},
    "limits":{"requests_per_minute":60,"tokens_per_minute":1000,"concurrent_requests":4},
    "budgets":{"tokens_per_month":100000,"cost_usd_per_month":12.5},
    "region":"eu-west-1","isolation":"silo","guardrail":{"pii":{"EMAIL":"ANONYMIZE"}}})"),
                       "");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->suspended());
  EXPECT_EQ(t->max_tokens, 512);
  EXPECT_EQ(t->limits.concurrent_requests, 4);
  EXPECT_EQ(t->budgets.cost_micros_per_month, 12'500'000);
  EXPECT_EQ(t->isolation, Isolation::kSilo);
  EXPECT_TRUE(t->AllowsModel("gpt-4o"));
  EXPECT_TRUE(t->AllowsModel("builtin-chat"));
  EXPECT_FALSE(t->AllowsModel("claude-3"));
  auto again = ParseTenant(TenantToJson(*t), "");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(TenantToJson(*again), TenantToJson(*t));
}

TEST(Tenant, ErrorsNameTheField) {
  auto expect_error = [](const char* doc, const char* field) {
    auto t = ParseTenant(json::parse(doc), "tenants[2]");
    ASSERT_FALSE(t.ok()) << doc;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(field), std::string::npos) << t.status();
  };
  expect_error(R"({})", "tenants[2].name: is required");
  expect_error(R"({"name":"_sys"})", "tenants[2].name");
  expect_error(R"({"name":"a","limits":{"requests_per_minute":-1}})",
               "tenants[2].limits.requests_per_minute");
  expect_error(R"({"name":"a","limits":{"rpm":1}})", "tenants[2].limits.rpm: unknown field");
  expect_error(R"({"name":"a","budgets":{"cost_usd_per_month":"ten"}})",
               "tenants[2].budgets.cost_usd_per_month");
  expect_error(R"({"name":"a","isolation":"shared"})", "tenants[2].isolation");
  expect_error(R"({"name":"a","status":"paused"})", "tenants[2].status");
  expect_error(R"({"name":"a","models":{"allowed":["gpt-*"],"default":"claude"}})",
               "tenants[2].models.default");
  expect_error(R"({"name":"a","colour":"red"})", "colour: unknown field");
}

TEST(Tenant, PatchKeepsWhatItLeavesOut) {
  auto base = ParseTenant(json::parse(R"({"name":"a","limits":{"requests_per_minute":5},
                                         "isolation":"silo"})"), "");
  ASSERT_TRUE(base.ok());
  auto patched = ParseTenant(json::parse(R"({"region":"us-east-1"})"), "", &*base);
  ASSERT_TRUE(patched.ok()) << patched.status();
  EXPECT_EQ(patched->limits.requests_per_minute, 5);
  EXPECT_EQ(patched->region, "us-east-1");
  EXPECT_FALSE(ParseTenant(json::parse(R"({"isolation":"pool"})"), "", &*base).ok())
      << "isolation cannot change once data exists";
  EXPECT_FALSE(ParseTenant(json::parse(R"({"name":"b"})"), "", &*base).ok());
}

TEST(Glob, Matches) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("anthropic.claude-*", "anthropic.claude-3-5-sonnet-20241022-v2:0"));
  EXPECT_FALSE(GlobMatch("anthropic.claude-*", "anthropic.titan"));
  EXPECT_TRUE(GlobMatch("a?c*z", "abcxyz"));
  EXPECT_FALSE(GlobMatch("a?c", "ac"));
  EXPECT_TRUE(GlobMatch("*-mini", "gpt-4o-mini"));
}

TEST(Roles, ResolveScopes) {
  RoleTable roles;
  ASSERT_TRUE(roles.AddFromConfig(json::parse(R"({"reader":["async:read","usage:read"]})")).ok());
  auto p = roles.Resolve({"reader", "models:invoke"}, "scopes");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(Has(*p, Permission::kAsyncRead));
  EXPECT_TRUE(Has(*p, Permission::kModelsInvoke));
  EXPECT_FALSE(Has(*p, Permission::kAsyncWrite));
  auto bad = roles.Resolve({"models:invoke", "root"}, "scopes");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("scopes[1]"), std::string::npos);
  EXPECT_FALSE(roles.AddFromConfig(json::parse(R"({"x":["fly"]})")).ok());
  EXPECT_FALSE(Has(*roles.Resolve({"tenant_admin"}, "s"), Permission::kAdminTenants));
  EXPECT_TRUE(Has(*roles.Resolve({"admin"}, "s"), Permission::kAdminTenants));
}

}  // namespace
}  // namespace basalt::tenancy
