#include "models/router/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/status.h"
#include "models/fake_provider.h"
#include "models/router/provider_registry.h"

namespace basalt::models {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kProviders = {"anthropic", "builtin", "openai"};

CatalogConfig Sample() {
  CatalogConfig config;
  config.aliases.push_back({"fast", {{"openai", "gpt-4o-mini"}, {"anthropic", "claude-haiku"}}});
  config.aliases.push_back({"local", {{"builtin", "basalt-builtin"}}});
  return config;
}

TEST(CatalogConfig, ValidConfigHasNoProblems) {
  EXPECT_TRUE(Sample().Problems(kProviders).empty());
  EXPECT_TRUE(Sample().Validate(kProviders).ok());
}

TEST(CatalogConfig, NamesEveryBadEntry) {
  CatalogConfig config = Sample();
  config.default_provider = "nope";
  config.aliases.push_back({"broken", {{"foo", "m"}, {"openai", ""}}});    // [2]
  config.aliases.push_back({"", {}});                                      // [3]
  config.aliases.push_back({"fast", {{"openai", "a"}, {"openai", "a"}}});  // [4]
  EXPECT_THAT(config.Problems(kProviders),
              ElementsAre("models.default_provider: unknown provider 'nope'",
                          "models.aliases[2].targets[0].provider: unknown provider 'foo'",
                          "models.aliases[2].targets[1].model: must not be empty",
                          "models.aliases[3].name: must not be empty",
                          "models.aliases[3].targets: must list at least one target",
                          "models.aliases[4].name: duplicate alias 'fast'",
                          "models.aliases[4].targets[1]: duplicate of targets[0] ('openai/a')"));
  absl::Status status = config.Validate(kProviders);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("unknown provider 'nope'; models.aliases[2].targets[0].provider"));
}

TEST(Catalog, ResolvesAliasesInOrder) {
  auto catalog = Catalog::Create(Sample(), kProviders);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  auto targets = catalog->Resolve("fast");
  ASSERT_TRUE(targets.ok());
  ASSERT_EQ(targets->size(), 2u);
  EXPECT_EQ((*targets)[0].provider, "openai");
  EXPECT_EQ((*targets)[0].model, "gpt-4o-mini");
  EXPECT_EQ((*targets)[1].provider, "anthropic");
}

TEST(Catalog, ProviderSlashModelRoutesDirectly) {
  auto catalog = Catalog::Create(Sample(), kProviders);
  ASSERT_TRUE(catalog.ok());
  auto target = catalog->ResolveUnlisted("openai/gpt-4o");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->provider, "openai");
  EXPECT_EQ(target->model, "gpt-4o");
  // Only the first slash splits: the rest is the upstream id.
  target = catalog->ResolveUnlisted("openai/org/model");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->model, "org/model");
}

TEST(Catalog, UnlistedNamesGoToTheDefaultProviderAsIs) {
  CatalogConfig config = Sample();
  config.default_provider = "builtin";
  auto catalog = Catalog::Create(config, kProviders);
  ASSERT_TRUE(catalog.ok());
  for (const char* name : {"gpt-4o", "meta-llama/Llama-3-8B", "openai/"}) {
    auto target = catalog->ResolveUnlisted(name);
    ASSERT_TRUE(target.ok()) << name;
    EXPECT_EQ(target->provider, "builtin");
    EXPECT_EQ(target->model, name);
  }
}

TEST(Catalog, UnlistedNamesWithoutADefaultAreNotFound) {
  auto catalog = Catalog::Create(Sample(), kProviders);
  ASSERT_TRUE(catalog.ok());
  auto target = catalog->Resolve("gpt-5");
  EXPECT_EQ(target.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(target.status().message(),
            "model 'gpt-5' does not exist: GET /v1/models lists the models this server knows");
  EXPECT_EQ(ErrorCodeOf(target.status()), "model_not_found");
  EXPECT_EQ(catalog->Resolve("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Catalog, CreateRejectsAnInvalidConfig) {
  CatalogConfig config;
  config.aliases.push_back({"x", {{"ghost", "m"}}});
  auto catalog = Catalog::Create(config, kProviders);
  EXPECT_EQ(catalog.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog.status().message(),
            "models.aliases[0].targets[0].provider: unknown provider 'ghost'");
}

TEST(ProviderRegistry, RegistersByNameAndRejectsDuplicates) {
  ProviderRegistry registry;
  EXPECT_TRUE(registry.Register(std::make_unique<FakeProvider>("openai")).ok());
  EXPECT_TRUE(registry.Register(std::make_unique<FakeProvider>("builtin")).ok());
  absl::Status dup = registry.Register(std::make_unique<FakeProvider>("openai"));
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "provider 'openai' is already registered");
  EXPECT_EQ(registry.Register(std::make_unique<FakeProvider>("a/b")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Register(std::make_unique<FakeProvider>("")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Register(nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(registry.Names(), ElementsAre("builtin", "openai"));
  ASSERT_NE(registry.Find("openai"), nullptr);
  EXPECT_EQ(registry.Find("openai")->name(), "openai");
  EXPECT_EQ(registry.Find("anthropic"), nullptr);
}

}  // namespace
}  // namespace basalt::models
