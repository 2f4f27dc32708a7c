#include "models/providers/aws_credentials.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace basalt::models {
namespace {

using ::testing::HasSubstr;

GetEnv FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path =
      ::testing::TempDir() + "/aws_credentials_test_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

constexpr const char* kCredentialsFile = R"(# shared credentials
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secret-default

; another profile
[work]
AWS_ACCESS_KEY_ID=AKIDWORK
aws_secret_access_key:secret/work+key=
aws_session_token = token-work
  nested = skipped
)";

TEST(ParseIniTest, ReadsSectionsKeysAndComments) {
  absl::StatusOr<IniFile> ini = ParseIni(kCredentialsFile);
  ASSERT_TRUE(ini.ok()) << ini.status();
  ASSERT_EQ(ini->size(), 2u);
  EXPECT_EQ(ini->at("default").at("aws_access_key_id"), "AKIDDEFAULT");
  EXPECT_EQ(ini->at("work").at("aws_access_key_id"), "AKIDWORK");  // keys lower-cased
  EXPECT_EQ(ini->at("work").at("aws_secret_access_key"), "secret/work+key=");
  EXPECT_EQ(ini->at("work").at("aws_session_token"), "token-work");
  EXPECT_EQ(ini->at("work").count("nested"), 0u);
}

TEST(ParseIniTest, HandlesCrlfAndRepeatedSections) {
  absl::StatusOr<IniFile> ini = ParseIni("[a]\r\nk = 1\r\n[b]\r\nk=2\r\n[a]\r\nk = 3\r\nj=4\r\n");
  ASSERT_TRUE(ini.ok()) << ini.status();
  EXPECT_EQ(ini->at("a").at("k"), "3");
  EXPECT_EQ(ini->at("a").at("j"), "4");
  EXPECT_EQ(ini->at("b").at("k"), "2");
}

TEST(ParseIniTest, RejectsMalformedLinesNamingThem) {
  EXPECT_THAT(std::string(ParseIni("key = value\n").status().message()),
              HasSubstr("line 1: key before the first [section]"));
  EXPECT_THAT(std::string(ParseIni("[a]\nno delimiter\n").status().message()),
              HasSubstr("line 2: expected [section] or key = value"));
  EXPECT_THAT(std::string(ParseIni("[a\n").status().message()), HasSubstr("line 1"));
  EXPECT_EQ(ParseIni("[]\n").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ResolveAwsTest, ConfigBeatsEnvironmentBeatsProfile) {
  const std::string file = WriteFile("precedence", kCredentialsFile);
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                            {"AWS_SECRET_ACCESS_KEY", "secret-env"},
                                            {"AWS_SESSION_TOKEN", "token-env"},
                                            {"AWS_SHARED_CREDENTIALS_FILE", file}};
  ProviderConfig config;
  config.access_key_id = "AKIDCONFIG";
  config.secret_access_key = "secret-config";

  AwsResolution from_config = ResolveAws(config, FakeEnv(env));
  ASSERT_TRUE(from_config.credentials.ok()) << from_config.credentials.status();
  EXPECT_EQ(from_config.credentials->access_key_id, "AKIDCONFIG");
  EXPECT_EQ(from_config.credentials->session_token, "");
  EXPECT_EQ(from_config.credentials_source, "config");

  config.access_key_id.clear();
  config.secret_access_key.clear();
  AwsResolution from_env = ResolveAws(config, FakeEnv(env));
  ASSERT_TRUE(from_env.credentials.ok()) << from_env.credentials.status();
  EXPECT_EQ(from_env.credentials->access_key_id, "AKIDENV");
  EXPECT_EQ(from_env.credentials->secret_access_key, "secret-env");
  EXPECT_EQ(from_env.credentials->session_token, "token-env");
  EXPECT_EQ(from_env.credentials_source, "environment");

  env.erase("AWS_ACCESS_KEY_ID");
  env.erase("AWS_SECRET_ACCESS_KEY");
  env.erase("AWS_SESSION_TOKEN");
  AwsResolution from_default = ResolveAws(config, FakeEnv(env));
  ASSERT_TRUE(from_default.credentials.ok()) << from_default.credentials.status();
  EXPECT_EQ(from_default.credentials->access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(from_default.credentials_source, "profile 'default' in " + file);

  env["AWS_PROFILE"] = "work";
  AwsResolution from_env_profile = ResolveAws(config, FakeEnv(env));
  ASSERT_TRUE(from_env_profile.credentials.ok());
  EXPECT_EQ(from_env_profile.credentials->access_key_id, "AKIDWORK");
  EXPECT_EQ(from_env_profile.credentials->session_token, "token-work");

  config.profile = "default";  // the config's profile beats AWS_PROFILE
  AwsResolution from_config_profile = ResolveAws(config, FakeEnv(env));
  ASSERT_TRUE(from_config_profile.credentials.ok());
  EXPECT_EQ(from_config_profile.credentials->access_key_id, "AKIDDEFAULT");
}

TEST(ResolveAwsTest, HomeCredentialsFileIsTheDefault) {
  const std::string home = ::testing::TempDir() + "/aws_home_" + std::to_string(::getpid());
  std::filesystem::create_directories(home + "/.aws");
  std::ofstream(home + "/.aws/credentials") << kCredentialsFile;
  AwsResolution resolved = ResolveAws(ProviderConfig{}, FakeEnv({{"HOME", home}}));
  ASSERT_TRUE(resolved.credentials.ok()) << resolved.credentials.status();
  EXPECT_EQ(resolved.credentials->access_key_id, "AKIDDEFAULT");

  // "~/" in AWS_SHARED_CREDENTIALS_FILE is the home directory.
  resolved =
      ResolveAws(ProviderConfig{}, FakeEnv({{"HOME", home},
                                            {"AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"},
                                            {"AWS_PROFILE", "work"}}));
  ASSERT_TRUE(resolved.credentials.ok()) << resolved.credentials.status();
  EXPECT_EQ(resolved.credentials->access_key_id, "AKIDWORK");
}

TEST(ResolveAwsTest, NothingFoundNamesEveryPlaceLookedIn) {
  AwsResolution resolved =
      ResolveAws(ProviderConfig{}, FakeEnv({{"HOME", "/nonexistent-basalt-home"}}));
  EXPECT_EQ(resolved.credentials.status().code(), absl::StatusCode::kUnauthenticated);
  const std::string message(resolved.credentials.status().message());
  EXPECT_THAT(message, HasSubstr("access_key_id/secret_access_key in the provider config"));
  EXPECT_THAT(message, HasSubstr("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"));
  EXPECT_THAT(message, HasSubstr("profile 'default' in /nonexistent-basalt-home/.aws/credentials"));
  EXPECT_TRUE(resolved.credentials_source.empty());

  const std::string file = WriteFile("noprofile", kCredentialsFile);
  resolved = ResolveAws(ProviderConfig{},
                        FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "nope"}}));
  EXPECT_THAT(std::string(resolved.credentials.status().message()),
              HasSubstr("profile 'nope' in " + file + " (no such profile)"));
}

TEST(ResolveAwsTest, IncompleteSourcesAreErrorsNotSkipped) {
  ProviderConfig config;
  config.access_key_id = "AKIDCONFIG";
  AwsResolution resolved = ResolveAws(
      config, FakeEnv({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}}));
  EXPECT_EQ(resolved.credentials.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(resolved.credentials.status().message()),
              HasSubstr("secret_access_key is missing"));

  resolved = ResolveAws(ProviderConfig{}, FakeEnv({{"AWS_SECRET_ACCESS_KEY", "s"}}));
  EXPECT_THAT(std::string(resolved.credentials.status().message()),
              HasSubstr("the environment: AWS_ACCESS_KEY_ID is missing"));

  const std::string file = WriteFile("bad", "[default]\naws_access_key_id\n");
  resolved = ResolveAws(ProviderConfig{}, FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", file}}));
  EXPECT_THAT(std::string(resolved.credentials.status().message()), HasSubstr("line 2"));
}

TEST(ResolveAwsTest, RegionFromConfigThenAwsRegionThenDefaultRegion) {
  ProviderConfig config;
  config.region = "eu-west-1";
  auto env = FakeEnv({{"AWS_REGION", "us-east-2"}, {"AWS_DEFAULT_REGION", "ap-south-1"}});
  EXPECT_EQ(ResolveAws(config, env).region, "eu-west-1");
  EXPECT_EQ(ResolveAws(ProviderConfig{}, env).region, "us-east-2");
  EXPECT_EQ(ResolveAws(ProviderConfig{}, FakeEnv({{"AWS_DEFAULT_REGION", "ap-south-1"}})).region,
            "ap-south-1");
  EXPECT_EQ(ResolveAws(ProviderConfig{}, FakeEnv({})).region, "");
}

}  // namespace
}  // namespace basalt::models
