#include "models/router/catalog.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "core/status.h"
#include "core/strings.h"

namespace basalt::models {

std::vector<std::string> CatalogConfig::Problems(const std::vector<std::string>& providers) const {
  std::vector<std::string> problems;
  auto known = [&](const std::string& name) {
    return std::find(providers.begin(), providers.end(), name) != providers.end();
  };
  if (!default_provider.empty() && !known(default_provider)) {
    problems.push_back(
        StrCat("models.default_provider: unknown provider '", default_provider, "'"));
  }
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < aliases.size(); ++i) {
    const AliasConfig& alias = aliases[i];
    const std::string where = StrCat("models.aliases[", i, "]");
    if (alias.name.empty()) {
      problems.push_back(StrCat(where, ".name: must not be empty"));
    } else if (!seen.insert(alias.name).second) {
      problems.push_back(StrCat(where, ".name: duplicate alias '", alias.name, "'"));
    }
    if (alias.targets.empty()) {
      problems.push_back(StrCat(where, ".targets: must list at least one target"));
    }
    for (size_t j = 0; j < alias.targets.size(); ++j) {
      const TargetConfig& target = alias.targets[j];
      const std::string at = StrCat(where, ".targets[", j, "]");
      if (target.provider.empty()) {
        problems.push_back(StrCat(at, ".provider: must not be empty"));
      } else if (!known(target.provider)) {
        problems.push_back(StrCat(at, ".provider: unknown provider '", target.provider, "'"));
      }
      if (target.model.empty()) problems.push_back(StrCat(at, ".model: must not be empty"));
      for (size_t k = 0; k < j; ++k) {
        if (alias.targets[k].provider == target.provider &&
            alias.targets[k].model == target.model) {
          problems.push_back(StrCat(at, ": duplicate of targets[", k, "] ('", target.provider, "/",
                                    target.model, "')"));
          break;
        }
      }
    }
  }
  return problems;
}

absl::Status CatalogConfig::Validate(const std::vector<std::string>& providers) const {
  const std::vector<std::string> problems = Problems(providers);
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
}

absl::StatusOr<Catalog> Catalog::Create(CatalogConfig config,
                                        const std::vector<std::string>& providers) {
  absl::Status status = config.Validate(providers);
  if (!status.ok()) return status;
  return Catalog(std::move(config), providers);
}

Catalog::Catalog(CatalogConfig config, const std::vector<std::string>& providers)
    : config_(std::move(config)), providers_(providers.begin(), providers.end()) {
  for (size_t i = 0; i < config_.aliases.size(); ++i) {
    alias_index_.emplace(config_.aliases[i].name, i);
    if (config_.aliases[i].name.find('*') != std::string::npos) patterns_.push_back(i);
  }
}

const AliasConfig* Catalog::FindPattern(std::string_view model) const {
  for (size_t i : patterns_) {
    if (GlobMatch(config_.aliases[i].name, model)) return &config_.aliases[i];
  }
  return nullptr;
}

const AliasConfig* Catalog::FindAlias(std::string_view model) const {
  auto it = alias_index_.find(ToAbsl(model));
  if (it != alias_index_.end()) return &config_.aliases[it->second];
  return FindPattern(model);
}

absl::StatusOr<TargetConfig> Catalog::ResolveUnlisted(std::string_view model) const {
  if (model.empty()) return absl::InvalidArgumentError("model: must not be empty");
  const size_t slash = model.find('/');
  if (slash != std::string_view::npos && slash + 1 < model.size() &&
      providers_.contains(ToAbsl(model.substr(0, slash)))) {
    return TargetConfig{std::string(model.substr(0, slash)), std::string(model.substr(slash + 1))};
  }
  if (!config_.default_provider.empty()) {
    return TargetConfig{config_.default_provider, std::string(model)};
  }
  return WithErrorCode(
      absl::NotFoundError(StrCat("model '", model,
                                 "' does not exist: GET /v1/models lists the models this "
                                 "server knows")),
      "model_not_found");
}

absl::StatusOr<std::vector<TargetConfig>> Catalog::Resolve(std::string_view model) const {
  if (const AliasConfig* alias = FindAlias(model)) return alias->targets;
  absl::StatusOr<TargetConfig> target = ResolveUnlisted(model);
  if (!target.ok()) return target.status();
  return std::vector<TargetConfig>{*std::move(target)};
}

}  // namespace basalt::models
