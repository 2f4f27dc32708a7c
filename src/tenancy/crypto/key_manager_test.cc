#include "tenancy/crypto/key_manager.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tenancy/crypto/encoding.h"

namespace basalt::crypto {
namespace {

class KeyManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "key_manager_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    options_.keys_db_path = dir_ + "/keys.db";
    options_.kek_file = dir_ + "/kek.key";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<KeyManager> OpenOrDie() {
    absl::StatusOr<std::unique_ptr<KeyManager>> km = KeyManager::Open(options_);
    EXPECT_TRUE(km.ok()) << km.status();
    return km.ok() ? *std::move(km) : nullptr;
  }
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  static uint32_t VersionOf(const std::string& envelope) {
    return ParseEnvelope(envelope)->key_version;
  }

  std::string dir_;
  KeyManagerOptions options_;
};

const FieldRef kRef{"tenant-a", "invocations", "row-1", "input"};

TEST_F(KeyManagerTest, RoundTripAndNotice) {
  std::unique_ptr<KeyManager> km = OpenOrDie();
  ASSERT_NE(km, nullptr);
  EXPECT_NE(km->notice().find("generated a new key-encryption key"), std::string::npos);
  EXPECT_EQ(km->CurrentVersion("tenant-a"), 0);
  for (const std::string& plain : {std::string(), std::string("x"), std::string(5000, 'p')}) {
    absl::StatusOr<std::string> envelope = km->Encrypt(kRef, plain);
    ASSERT_TRUE(envelope.ok()) << envelope.status();
    EXPECT_EQ(envelope->size(), plain.size() + kEnvelopeOverhead);
    EXPECT_EQ(VersionOf(*envelope), 1u);
    absl::StatusOr<std::string> back = km->Decrypt(kRef, *envelope);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, plain);
    absl::StatusOr<std::string> via_text = EnvelopeFromBase64(EnvelopeToBase64(*envelope));
    EXPECT_EQ(*km->Decrypt(kRef, *via_text), plain);
  }
  EXPECT_EQ(km->CurrentVersion("tenant-a"), 1);
  // Two encryptions of the same text differ (random nonces).
  EXPECT_NE(*km->Encrypt(kRef, "same"), *km->Encrypt(kRef, "same"));
}

TEST_F(KeyManagerTest, EveryFlippedBitFails) {
  std::unique_ptr<KeyManager> km = OpenOrDie();
  const std::string envelope = *km->Encrypt(kRef, "secret value");
  for (size_t i = 0; i < envelope.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = envelope;
      bad[i] ^= static_cast<char>(1 << bit);
      absl::Status s = km->Decrypt(kRef, bad).status();
      ASSERT_TRUE(absl::IsDataLoss(s)) << "byte " << i << " bit " << bit << ": " << s;
      EXPECT_TRUE(absl::StartsWith(s.message(), "ciphertext does not authenticate")) << s;
    }
  }
  EXPECT_TRUE(
      absl::IsDataLoss(km->Decrypt(kRef, envelope.substr(0, envelope.size() - 1)).status()));
  EXPECT_TRUE(absl::IsDataLoss(km->Decrypt(kRef, envelope + "x").status()));
}

TEST_F(KeyManagerTest, MovedCiphertextFails) {
  std::unique_ptr<KeyManager> km = OpenOrDie();
  ASSERT_TRUE(km->EnsureTenant("tenant-b").ok());
  const std::string envelope = *km->Encrypt(kRef, "secret");
  const FieldRef moved[] = {
      {"tenant-a", "invocations", "row-2", "input"},
      {"tenant-a", "invocations", "row-1", "output"},
      {"tenant-a", "batches", "row-1", "input"},
      {"tenant-b", "invocations", "row-1", "input"},
  };
  for (const FieldRef& ref : moved) {
    absl::Status s = km->Decrypt(ref, envelope).status();
    EXPECT_TRUE(absl::IsDataLoss(s))
        << ref.tenant << "/" << ref.table << "/" << ref.row_id << "/" << ref.field << ": " << s;
    EXPECT_EQ(s.message(), "ciphertext does not authenticate");
  }
  EXPECT_TRUE(absl::IsNotFound(
      km->Decrypt({"tenant-z", "invocations", "row-1", "input"}, envelope).status()));
}

TEST_F(KeyManagerTest, WrongOrMissingKekFailsClearly) {
  std::string first_id;
  {
    std::unique_ptr<KeyManager> km = OpenOrDie();
    ASSERT_TRUE(km->Encrypt(kRef, "secret").ok());
    first_id = km->kek_id();
  }
  const std::string saved = ReadFile(options_.kek_file);

  // A lost key file is not replaced by a new one while keys depend on it.
  std::filesystem::remove(options_.kek_file);
  absl::Status missing = KeyManager::Open(options_).status();
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;
  EXPECT_NE(missing.message().find("wrapped by key-encryption key " + first_id),
            absl::string_view::npos)
      << missing;
  EXPECT_FALSE(std::filesystem::exists(options_.kek_file));

  // Another KEK is named, with the one the keys need.
  absl::StatusOr<Kek> other = Kek::Generate();
  options_.kek_env_value = other->ToHex();
  absl::Status wrong = KeyManager::Open(options_).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(wrong)) << wrong;
  EXPECT_NE(wrong.message().find("wrapped by key-encryption key " + first_id),
            absl::string_view::npos)
      << wrong;
  EXPECT_NE(wrong.message().find(other->id()), absl::string_view::npos) << wrong;

  // The original key opens it again.
  options_.kek_env_value = saved;
  EXPECT_NE(OpenOrDie(), nullptr);
}

TEST_F(KeyManagerTest, PreviousKekIsRewrappedAtOpen) {
  std::string envelope;
  std::string old_id;
  {
    std::unique_ptr<KeyManager> km = OpenOrDie();
    envelope = *km->Encrypt(kRef, "secret");
    old_id = km->kek_id();
  }
  // Runbook: new key file as kek_file, the old one as previous_kek_file.
  const std::string new_file = dir_ + "/kek-2.key";
  ASSERT_TRUE(WriteKekFile(new_file, *Kek::Generate()).ok());
  options_.previous_kek_file = options_.kek_file;
  options_.kek_file = new_file;
  {
    std::unique_ptr<KeyManager> km = OpenOrDie();
    ASSERT_NE(km, nullptr);
    EXPECT_NE(km->notice().find("rewrapped every data key from key-encryption key " + old_id),
              std::string::npos)
        << km->notice();
    EXPECT_NE(km->kek_id(), old_id);
    EXPECT_EQ(*km->Decrypt(kRef, envelope), "secret");
  }
  // A second start with the previous key still configured changes nothing.
  EXPECT_EQ(OpenOrDie()->notice(), "");
  // Then the old key can go.
  std::filesystem::remove(options_.previous_kek_file);
  options_.previous_kek_file.clear();
  std::unique_ptr<KeyManager> km = OpenOrDie();
  EXPECT_EQ(*km->Decrypt(kRef, envelope), "secret");
}

TEST_F(KeyManagerTest, RotationKeepsOldDataReadable) {
  std::unique_ptr<KeyManager> km = OpenOrDie();
  const std::string v1 = *km->Encrypt(kRef, "one");
  ASSERT_TRUE(km->RotateTenant("tenant-a").ok());
  EXPECT_EQ(km->CurrentVersion("tenant-a"), 2);
  const std::string v2 = *km->Encrypt(kRef, "two");
  EXPECT_EQ(VersionOf(v2), 2u);
  EXPECT_TRUE(km->NeedsReencrypt(v1, "tenant-a"));
  EXPECT_FALSE(km->NeedsReencrypt(v2, "tenant-a"));
  EXPECT_EQ(*km->Decrypt(kRef, v1), "one");
  EXPECT_TRUE(absl::IsNotFound(km->RotateTenant("nobody")));
  ASSERT_TRUE(km->EnsureTenant("tenant-b").ok());
  ASSERT_TRUE(km->RotateAllTenants().ok());
  EXPECT_EQ(km->CurrentVersion("tenant-a"), 3);
  EXPECT_EQ(km->CurrentVersion("tenant-b"), 2);
  km.reset();
  km = OpenOrDie();
  EXPECT_EQ(km->CurrentVersion("tenant-a"), 3);
  EXPECT_EQ(*km->Decrypt(kRef, v1), "one");
  EXPECT_EQ(*km->Decrypt(kRef, v2), "two");
  EXPECT_EQ(VersionOf(*km->Encrypt(kRef, "three")), 3u);
}

TEST_F(KeyManagerTest, RewrapNeedsOnlyTheNewKek) {
  std::unique_ptr<KeyManager> km = OpenOrDie();
  const std::string v1 = *km->Encrypt(kRef, "one");
  ASSERT_TRUE(km->RotateTenant("tenant-a").ok());
  const std::string v2 = *km->Encrypt(kRef, "two");
  absl::StatusOr<Kek> new_kek = Kek::Generate();
  ASSERT_TRUE(new_kek.ok());
  ASSERT_TRUE(km->RewrapAll(*new_kek).ok());
  EXPECT_EQ(km->kek_id(), new_kek->id());
  EXPECT_EQ(*km->Decrypt(kRef, v1), "one");
  km.reset();

  // The old key file no longer opens keys.db; the new KEK alone does.
  absl::Status old = KeyManager::Open(options_).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(old)) << old;
  std::filesystem::remove(options_.kek_file);
  options_.kek_env_value = new_kek->ToHex();
  options_.create_kek_if_missing = false;
  km = OpenOrDie();
  ASSERT_NE(km, nullptr);
  EXPECT_EQ(*km->Decrypt(kRef, v1), "one");
  EXPECT_EQ(*km->Decrypt(kRef, v2), "two");
  EXPECT_EQ(VersionOf(*km->Encrypt(kRef, "three")), 2u);
}

TEST_F(KeyManagerTest, DestroyShredsKeysFromDatabaseAndWal) {
  std::unique_ptr<KeyManager> km = OpenOrDie();
  const std::string envelope = *km->Encrypt(kRef, "secret");
  ASSERT_TRUE(km->RotateTenant("tenant-a").ok());
  const std::string envelope2 = *km->Encrypt(kRef, "secret2");
  ASSERT_TRUE(km->EnsureTenant("tenant-b").ok());

  // The wrapped keys as stored, read with a second connection.
  std::vector<std::string> wrapped;
  {
    std::unique_ptr<KeyStore> store = *KeyStore::Open(options_.keys_db_path);
    absl::StatusOr<std::vector<StoredKey>> keys = store->LoadAll();
    ASSERT_TRUE(keys.ok()) << keys.status();
    for (const StoredKey& key : *keys) {
      if (key.tenant == "tenant-a") wrapped.push_back(key.wrapped);
    }
  }
  ASSERT_EQ(wrapped.size(), 2u);
  const std::string db = options_.keys_db_path;
  auto contains = [&](const std::string& needle) {
    return ReadFile(db).find(needle) != std::string::npos ||
           ReadFile(db + "-wal").find(needle) != std::string::npos;
  };
  for (const std::string& w : wrapped) ASSERT_TRUE(contains(w)) << "test cannot see the key bytes";

  ASSERT_TRUE(km->DestroyTenant("tenant-a").ok());
  for (const std::string& w : wrapped) {
    EXPECT_EQ(ReadFile(db).find(w), std::string::npos) << "wrapped key left in keys.db";
    EXPECT_EQ(ReadFile(db + "-wal").find(w), std::string::npos) << "wrapped key left in the WAL";
  }
  EXPECT_EQ(std::filesystem::file_size(db + "-wal"), 0u);

  for (const std::string& e : {envelope, envelope2}) {
    absl::Status s = km->Decrypt(kRef, e).status();
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_EQ(s.message(), "tenant's keys were destroyed");
  }
  EXPECT_TRUE(absl::IsFailedPrecondition(km->Encrypt(kRef, "new").status()));
  EXPECT_EQ(km->CurrentVersion("tenant-a"), 0);
  EXPECT_TRUE(km->DestroyTenant("tenant-a").ok());  // Idempotent.
  EXPECT_TRUE(km->RotateAllTenants().ok());         // Skips the destroyed tenant.

  // Other tenants are untouched, and the destruction survives a restart.
  km.reset();
  km = OpenOrDie();
  EXPECT_TRUE(absl::IsFailedPrecondition(km->Decrypt(kRef, envelope).status()));
  EXPECT_EQ(km->CurrentVersion("tenant-b"), 2);

  // A tenant destroyed before it had any key stays destroyed too.
  ASSERT_TRUE(km->DestroyTenant("tenant-c").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(km->EnsureTenant("tenant-c")));
}

TEST_F(KeyManagerTest, CounterRotatesAtLimitAndSurvivesReopen) {
  options_.max_encryptions_per_key = 10;
  options_.counter_block = 4;
  {
    std::unique_ptr<KeyManager> km = OpenOrDie();
    for (int i = 0; i < 3; ++i) EXPECT_EQ(VersionOf(*km->Encrypt(kRef, "x")), 1u);
  }
  // Counts 0..2 were used and 0..3 reserved: after a restart version 1 has
  // counts 4..9 left (count 3 is skipped, never reused), then version 2.
  {
    std::unique_ptr<KeyManager> km = OpenOrDie();
    for (int i = 0; i < 6; ++i) EXPECT_EQ(VersionOf(*km->Encrypt(kRef, "x")), 1u) << i;
    EXPECT_EQ(VersionOf(*km->Encrypt(kRef, "x")), 2u);
    for (int i = 0; i < 9; ++i) EXPECT_EQ(VersionOf(*km->Encrypt(kRef, "x")), 2u) << i;
    EXPECT_EQ(VersionOf(*km->Encrypt(kRef, "x")), 3u);
  }
  // Version 3 used 1 count, reserved 4: the restart continues at count 4.
  std::unique_ptr<KeyManager> km = OpenOrDie();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(VersionOf(*km->Encrypt(kRef, "x")), 3u) << i;
  EXPECT_EQ(VersionOf(*km->Encrypt(kRef, "x")), 4u);
}

TEST_F(KeyManagerTest, RejectsBadOptions) {
  options_.max_encryptions_per_key = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(KeyManager::Open(options_).status()));
  options_.max_encryptions_per_key = (uint64_t{1} << 32) + 1;
  EXPECT_TRUE(absl::IsInvalidArgument(KeyManager::Open(options_).status()));
  options_.max_encryptions_per_key = 10;
  options_.counter_block = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(KeyManager::Open(options_).status()));
}

TEST_F(KeyManagerTest, ConcurrentEncryptDecryptAcrossRotations) {
  options_.max_encryptions_per_key = 50;  // Forces many rotations under load.
  options_.counter_block = 7;
  std::unique_ptr<KeyManager> km = OpenOrDie();
  constexpr int kThreads = 8;
  constexpr int kIterations = 300;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string tenant = "tenant-" + std::to_string(t % 3);
      std::vector<std::pair<std::string, std::string>> mine;
      for (int i = 0; i < kIterations; ++i) {
        const std::string row = std::to_string(t) + "-" + std::to_string(i);
        const FieldRef ref{tenant, "t", row, "f"};
        const std::string plain(static_cast<size_t>(i % 100), static_cast<char>('a' + t));
        absl::StatusOr<std::string> envelope = km->Encrypt(ref, plain);
        if (!envelope.ok()) {
          ++failures;
          continue;
        }
        absl::StatusOr<std::string> back = km->Decrypt(ref, *envelope);
        if (!back.ok() || *back != plain) ++failures;
        mine.emplace_back(row, *std::move(envelope));
        if (i % 97 == 0 && t == 0) km->RotateTenant(tenant).IgnoreError();
      }
      for (size_t i = 0; i < mine.size(); ++i) {
        const std::string plain(i % 100, static_cast<char>('a' + t));
        absl::StatusOr<std::string> back =
            km->Decrypt({tenant, "t", mine[i].first, "f"}, mine[i].second);
        if (!back.ok() || *back != plain) ++failures;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // 8 threads share 3 tenants: at most 50 encryptions per version.
  EXPECT_GE(km->CurrentVersion("tenant-0"), kThreads * kIterations / 3 / 50);
}

}  // namespace
}  // namespace basalt::crypto
