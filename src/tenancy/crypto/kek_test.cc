#include "tenancy/crypto/kek.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tenancy/crypto/encoding.h"

namespace basalt::crypto {
namespace {

std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "kek_test.XXXXXX").string();
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

const std::string kHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST(KekTest, ParsesHexAndBase64WithWhitespace) {
  absl::StatusOr<Kek> hex = Kek::Parse("  " + kHex + "\n", "test");
  ASSERT_TRUE(hex.ok()) << hex.status();
  EXPECT_EQ(hex->ToHex(), kHex);
  EXPECT_EQ(hex->id().size(), 16u);
  const std::string b64 = Base64Encode(*HexDecode(kHex));
  absl::StatusOr<Kek> from_b64 = Kek::Parse("\t" + b64 + "\r\n", "test");
  ASSERT_TRUE(from_b64.ok()) << from_b64.status();
  EXPECT_EQ(from_b64->id(), hex->id());
}

TEST(KekTest, IdIsSha256Prefix) {
  // SHA-256 of bytes 00..1f begins 630dcd2966c43366 (computed with Python hashlib).
  absl::StatusOr<Kek> kek = Kek::Parse(kHex, "test");
  ASSERT_TRUE(kek.ok());
  EXPECT_EQ(kek->id(), "630dcd2966c43366");
}

TEST(KekTest, RejectsMalformedNamingSource) {
  for (const std::string& bad : {std::string(""), kHex.substr(2), kHex + "00", std::string(64, 'g'),
                                 Base64Encode(std::string(31, 'x')), std::string("a b")}) {
    absl::Status s = Kek::Parse(bad, "kek_file /x/kek.key").status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << bad;
    EXPECT_EQ(s.message(), "kek_file /x/kek.key: expected 32 bytes as 64 hex characters or base64");
  }
}

TEST(KekTest, WrapBindsTenantAndVersion) {
  absl::StatusOr<Kek> kek = Kek::Generate();
  ASSERT_TRUE(kek.ok());
  const std::string data_key(32, 'd');
  absl::StatusOr<std::string> wrapped = kek->Wrap(data_key, "t1", 3);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->size(), Kek::kWrappedSize);
  EXPECT_EQ(*kek->Unwrap(*wrapped, "t1", 3), data_key);
  EXPECT_TRUE(absl::IsDataLoss(kek->Unwrap(*wrapped, "t2", 3).status()));
  EXPECT_TRUE(absl::IsDataLoss(kek->Unwrap(*wrapped, "t1", 4).status()));
  absl::StatusOr<Kek> other = Kek::Generate();
  EXPECT_TRUE(absl::IsDataLoss(other->Unwrap(*wrapped, "t1", 3).status()));
}

TEST(KekTest, GeneratesKeyFileWithMode0600) {
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/kek.key";
  absl::StatusOr<LoadedKek> created = LoadKek(KekSource{path, "", true});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_NE(created->notice.find("generated a new key-encryption key at " + path),
            std::string::npos)
      << created->notice;
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, created->kek.ToHex());

  absl::StatusOr<LoadedKek> again = LoadKek(KekSource{path, "", true});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->kek.id(), created->kek.id());
  EXPECT_EQ(again->notice, "");

  chmod(path.c_str(), 0644);
  absl::StatusOr<LoadedKek> loose = LoadKek(KekSource{path, "", true});
  ASSERT_TRUE(loose.ok());
  EXPECT_NE(loose->notice.find("mode 0644"), std::string::npos) << loose->notice;
  std::filesystem::remove_all(dir);
}

TEST(KekTest, MissingFileWithoutCreateIsNotFound) {
  const std::string dir = MakeTempDir();
  absl::Status s = LoadKek(KekSource{dir + "/none.key", "", false}).status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_NE(s.message().find(dir + "/none.key"), absl::string_view::npos);
  std::filesystem::remove_all(dir);
}

TEST(KekTest, EnvironmentValueWins) {
  absl::StatusOr<LoadedKek> kek = LoadKek(KekSource{"/nonexistent/dir/kek.key", kHex, true});
  ASSERT_TRUE(kek.ok()) << kek.status();
  EXPECT_EQ(kek->kek.ToHex(), kHex);
  absl::Status bad = LoadKek(KekSource{"", "nope", true}).status();
  EXPECT_TRUE(absl::IsInvalidArgument(bad));
  EXPECT_TRUE(absl::IsInvalidArgument(LoadKek(KekSource{"", "", true}).status()));
}

TEST(KekTest, MalformedFileNamesPath) {
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/kek.key";
  std::ofstream(path) << "not a key\n";
  absl::Status s = LoadKek(KekSource{path, "", true}).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message(), "kek_file " + path + ": expected 32 bytes as 64 hex characters or base64");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace basalt::crypto
