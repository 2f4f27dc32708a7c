#include "core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace basalt {
namespace {

using ::testing::HasSubstr;

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/basalt_config_XXXXXX.yaml";
  const int fd = mkstemps(path, 5);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(Config, DefaultsAreTheEmbeddedOnes) {
  auto c = LoadConfig({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.host, "127.0.0.1");
  EXPECT_EQ(c->server.port, 8080);
  EXPECT_EQ(c->data_dir, "./var");
  EXPECT_EQ(c->server.max_body_bytes, 10 * 1024 * 1024);
  EXPECT_FALSE(c->AuthConfigured());
}

TEST(Config, FileThenEnvThenFlags) {
  const std::string path = WriteTemp("server:\n  port: 9000\n  host: 127.0.0.2\ndata_dir: /tmp/x\n");
  ConfigSources s;
  s.file = path;
  s.env = {{"BASALT_SERVER_PORT", "9100"}};
  s.overrides = {{"data_dir", "/tmp/y"}};
  auto c = LoadConfig(s);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.port, 9100);        // env beats file
  EXPECT_EQ(c->server.host, "127.0.0.2");  // file beats default
  EXPECT_EQ(c->data_dir, "/tmp/y");        // flag beats everything
  std::remove(path.c_str());
}

TEST(Config, ErrorsNameKeyFileAndLine) {
  const std::string path =
      WriteTemp("server:\n  port: 9000\n  prot: 1\n  max_body_bytes: lots\nlog:\n  level: loud\n");
  auto errors = CheckConfigFile(path);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_THAT(errors[0], HasSubstr(path + ":3: server.prot: unknown key"));
  EXPECT_THAT(errors[1], HasSubstr(path + ":4: server.max_body_bytes: expected an integer"));
  EXPECT_THAT(errors[2], HasSubstr(path + ":6: log.level: 'loud' is not one of"));
  std::remove(path.c_str());
}

TEST(Config, OutOfRangeAndUnknownSources) {
  ConfigSources s;
  s.overrides = {{"server.port", "70000"}};
  EXPECT_THAT(std::string(LoadConfig(s).status().message()), HasSubstr("server.port"));
  ConfigSources e;
  e.env = {{"BASALT_SERVR_PORT", "1"}};
  EXPECT_THAT(std::string(LoadConfig(e).status().message()), HasSubstr("BASALT_SERVR_PORT"));
  ConfigSources k;
  k.overrides = {{"auth.api_keys", "short"}};
  EXPECT_THAT(std::string(LoadConfig(k).status().message()), HasSubstr("auth.api_keys"));
}

TEST(Config, ListsFromYamlAndText) {
  const std::string path = WriteTemp("auth:\n  api_keys: [aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb]\n");
  ConfigSources s;
  s.file = path;
  auto c = LoadConfig(s);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->api_keys.size(), 2u);
  s.overrides = {{"auth.api_keys", "cccccccccccccccc"}};
  EXPECT_EQ(LoadConfig(s)->api_keys, std::vector<std::string>{"cccccccccccccccc"});
  std::remove(path.c_str());
}

TEST(Config, BadYamlSyntaxNamesTheLine) {
  const std::string path = WriteTemp("server:\n  port: [1\n");
  auto errors = CheckConfigFile(path);
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(errors[0], HasSubstr(path + ":"));
  std::remove(path.c_str());
}

TEST(Config, EveryKeyIsDescribed) {
  for (const auto& k : DescribeConfigKeys()) {
    EXPECT_FALSE(k.description.empty()) << k.key;
    EXPECT_EQ(k.env.rfind("BASALT_", 0), 0u);
  }
}

}  // namespace
}  // namespace basalt

namespace basalt {
namespace {

TEST(ConfigSections, ProvidersAndAliases) {
  const std::string path = WriteTemp(
      "providers:\n"
      "  - name: local\n"
      "    type: openai\n"
      "    base_url: http://127.0.0.1:8000/v1\n"
      "    max_concurrency: 8\n"
      "models:\n"
      "  default_provider: builtin\n"
      "  aliases:\n"
      "    - name: smart\n"
      "      targets:\n"
      "        - {provider: local, model: llama3}\n"
      "        - {provider: builtin, model: builtin-chat}\n");
  ConfigSources s;
  s.file = path;
  auto c = LoadConfig(s);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->providers.size(), 1u);
  EXPECT_EQ(c->providers[0].max_concurrency, 8);
  ASSERT_EQ(c->model_aliases.size(), 1u);
  EXPECT_EQ(c->model_aliases[0].targets[1].model, "builtin-chat");
  std::remove(path.c_str());
}

TEST(ConfigSections, ErrorsNameEntryFieldAndLine) {
  const std::string path = WriteTemp(
      "providers:\n"
      "  - name: x\n"
      "    type: gpt\n"
      "    colour: red\n"
      "models:\n"
      "  aliases:\n"
      "    - name: a\n"
      "      targets: [{provider: nowhere, model: m}]\n");
  auto errors = CheckConfigFile(path);
  ASSERT_GE(errors.size(), 2u);
  EXPECT_THAT(errors[0], HasSubstr(":4: providers[0].colour: unknown field"));
  EXPECT_THAT(errors[1], HasSubstr("providers[0].type: 'gpt' is not one of"));
  ConfigSources s;
  s.file = path;
  std::remove(path.c_str());
  const std::string ok_types = WriteTemp(
      "models:\n  aliases:\n    - name: a\n      targets: [{provider: nowhere, model: m}]\n");
  s.file = ok_types;
  EXPECT_THAT(std::string(LoadConfig(s).status().message()),
              HasSubstr("models.aliases[0].targets[0].provider: unknown provider 'nowhere'"));
  std::remove(ok_types.c_str());
}

}  // namespace
}  // namespace basalt
