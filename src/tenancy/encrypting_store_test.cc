#include "tenancy/encrypting_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/memory/memory_store.h"

namespace basalt::tenancy {
namespace {

class EncryptingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("enc-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    crypto::KeyManagerOptions o;
    o.keys_db_path = (dir_ / "keys.db").string();
    o.kek_file = (dir_ / "kek.key").string();
    keys_ = *crypto::KeyManager::Open(o);
    cipher_ = std::make_unique<FieldCipher>(*keys_);
    store_ = std::make_unique<EncryptingStore>(inner_, *cipher_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  MemoryStore inner_;
  std::unique_ptr<crypto::KeyManager> keys_;
  std::unique_ptr<FieldCipher> cipher_;
  std::unique_ptr<EncryptingStore> store_;
};

TEST_F(EncryptingStoreTest, BodiesAreSealedAtRestAndOpenOnRead) {
  ASSERT_TRUE(store_->Create("a", "rules", "r1", R"({"secret":"CANARY-1"})").ok());
  auto raw = inner_.Get("a", "rules", "r1");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->body.find("CANARY-1"), std::string::npos);
  EXPECT_NE(raw->body.find("enc1"), std::string::npos);
  auto back = store_->Get("a", "rules", "r1");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->body, R"({"secret":"CANARY-1"})");
  ASSERT_TRUE(store_->Update("a", "rules", "r1", R"({"secret":"CANARY-2"})", 0).ok());
  auto page = store_->List("a", "rules", {});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].body, R"({"secret":"CANARY-2"})");
  EXPECT_EQ(store_->Create("a", "rules", "r2", "not json").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EncryptingStoreTest, ABodyMovedToAnotherRowOrTenantDoesNotOpen) {
  ASSERT_TRUE(store_->Create("a", "rules", "r1", R"({"x":1})").ok());
  ASSERT_TRUE(store_->Create("a", "rules", "r2", R"({"x":2})").ok());
  ASSERT_TRUE(store_->Create("b", "rules", "r1", R"({"x":3})").ok());
  const std::string sealed = inner_.Get("a", "rules", "r1")->body;
  ASSERT_TRUE(inner_.Update("a", "rules", "r2", sealed, 0).ok());
  EXPECT_FALSE(store_->Get("a", "rules", "r2").ok()) << "moved to another row";
  ASSERT_TRUE(inner_.Update("b", "rules", "r1", sealed, 0).ok());
  EXPECT_FALSE(store_->Get("b", "rules", "r1").ok()) << "moved to another tenant";
  EXPECT_TRUE(store_->Get("a", "rules", "r1").ok());
}

TEST_F(EncryptingStoreTest, AFlippedBitFailsAndAShreddedTenantIsUnreadable) {
  ASSERT_TRUE(store_->Create("a", "rules", "r1", R"({"x":1})").ok());
  std::string sealed = inner_.Get("a", "rules", "r1")->body;
  const size_t at = sealed.size() / 2;
  sealed[at] = sealed[at] == 'A' ? 'B' : 'A';
  ASSERT_TRUE(inner_.Update("a", "rules", "r1", sealed, 0).ok());
  EXPECT_FALSE(store_->Get("a", "rules", "r1").ok());
  ASSERT_TRUE(store_->Create("a", "rules", "r3", R"({"x":3})").ok());
  ASSERT_TRUE(keys_->DestroyTenant("a").ok());
  EXPECT_FALSE(store_->Get("a", "rules", "r3").ok()) << "crypto-shredded";
}

}  // namespace
}  // namespace basalt::tenancy
