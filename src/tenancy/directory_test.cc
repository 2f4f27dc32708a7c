#include "tenancy/directory.h"

#include <gtest/gtest.h>

#include "store/memory/memory_store.h"

namespace basalt::tenancy {
namespace {

using nlohmann::json;

class DirectoryTest : public ::testing::Test {
 protected:
  std::unique_ptr<Directory> Open(std::vector<Tenant> declared = {}) {
    auto d = Directory::Load(store_, std::move(declared), {"default"}, RoleTable(), nullptr, clock_);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *std::move(d) : nullptr;
  }
  MemoryStore store_;
  FakeClock clock_{std::chrono::system_clock::from_time_t(1'800'000'000)};
};

TEST_F(DirectoryTest, TenantsPersistAndReload) {
  auto d = Open();
  ASSERT_NE(d->Find("default"), nullptr) << "implicit tenants named by config keys exist";
  auto created = d->Create(json::parse(R"({"name":"acme","limits":{"requests_per_minute":9}})"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(d->Create(json::parse(R"({"name":"acme"})")).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(d->Update("acme", json::parse(R"({"region":"eu-west-1"})")).ok());
  ASSERT_TRUE(d->SetStatus("acme", TenantStatus::kSuspended).ok());
  auto reloaded = Open();
  TenantPtr t = reloaded->Find("acme");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->limits.requests_per_minute, 9);
  EXPECT_EQ(t->region, "eu-west-1");
  EXPECT_TRUE(t->suspended());
  ASSERT_TRUE(reloaded->Remove("acme").ok());
  EXPECT_EQ(reloaded->Find("acme"), nullptr);
  EXPECT_EQ(Open()->Find("acme"), nullptr);
}

TEST_F(DirectoryTest, DeclaredTenantsAreReadOnly) {
  Tenant t;
  t.name = "cfg";
  auto d = Open({t});
  EXPECT_EQ(d->Find("cfg")->source, "config");
  EXPECT_EQ(d->Update("cfg", json::object()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(d->Remove("cfg").code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DirectoryTest, KeysAreShownOnceAndStoredAsHashes) {
  auto d = Open();
  ASSERT_TRUE(d->Create(json::parse(R"({"name":"acme"})")).ok());
  auto minted = d->CreateKey("acme", {"ci", {"invoker"}, 0});
  ASSERT_TRUE(minted.ok()) << minted.status();
  EXPECT_EQ(minted->key.size(), 4 + 16 + 1 + 64) << "256 random bits of secret";
  auto id = ManagedKeyId(minted->key);
  ASSERT_TRUE(id.has_value());
  ApiKeyPtr stored = d->FindKey(*id);
  ASSERT_NE(stored, nullptr);
  EXPECT_TRUE(KeyMatches(minted->key, stored->hash));
  std::string wrong = minted->key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_FALSE(KeyMatches(wrong, stored->hash));
  EXPECT_TRUE(Has(stored->permissions, Permission::kModelsInvoke));
  EXPECT_FALSE(Has(stored->permissions, Permission::kAsyncWrite));
  auto page = store_.List(kSystemTenant, "api_keys", {});
  ASSERT_TRUE(page.ok());
  for (const Record& r : page->records) {
    EXPECT_EQ(r.body.find(minted->key.substr(21)), std::string::npos) << "no secret at rest";
  }
  EXPECT_FALSE(d->CreateKey("acme", {"x", {"superuser"}, 0}).ok());
  EXPECT_EQ(d->CreateKey("nobody", {}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DirectoryTest, RevokeAndRotate) {
  auto d = Open();
  ASSERT_TRUE(d->Create(json::parse(R"({"name":"acme"})")).ok());
  auto first = d->CreateKey("acme", {"a", {}, 0});
  ASSERT_TRUE(first.ok());
  auto rotated = d->RotateKey("acme", first->record.id, 60'000);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  const int64_t now = 1'800'000'000'000;
  EXPECT_TRUE(d->FindKey(first->record.id)->Usable(now)) << "within the grace period";
  EXPECT_FALSE(d->FindKey(first->record.id)->Usable(now + 60'001));
  EXPECT_EQ(d->FindKey(first->record.id)->rotated_to, rotated->record.id);
  ASSERT_TRUE(d->RevokeKey("acme", rotated->record.id).ok());
  EXPECT_FALSE(d->FindKey(rotated->record.id)->Usable(now));
  EXPECT_EQ(d->RevokeKey("other", first->record.id).status().code(), absl::StatusCode::kNotFound)
      << "another tenant's key is not found";
  EXPECT_EQ(d->ListKeys("acme").size(), 2u);
}

}  // namespace
}  // namespace basalt::tenancy
